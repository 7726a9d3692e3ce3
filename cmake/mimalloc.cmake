# SPDX-License-Identifier: MIT
# Finds mimalloc and checks it is the release the engine is written against.
#
# The engine (core/arena.c, core/engine.c) assumes what mimalloc 2.0.9 does:
# - mi_manage_os_memory_ex() takes a reserved range as an exclusive arena and
#   mi_heap_new_in_arena() makes a heap that allocates only from it;
# - a process has at most 64 arenas (MI_MAX_ARENAS, not in the public header):
#   KMS_MAX_ARENAS (core/arena.h) is 56, leaving 8 for mimalloc's own
#   reservations (MIMALLOC_RESERVE_OS_MEMORY, huge pages);
# - mi_malloc_aligned misaligns sizes 256..1024, so the engine calls the _at form.
# mimalloc 2.1 and later change how arenas are chosen, counted and reclaimed;
# 1.x has no arenas of this kind. Both are refused here rather than left to
# misbehave at run time.
find_package(mimalloc 2.0 REQUIRED)

get_target_property(KMS_MI_INCLUDE mimalloc INTERFACE_INCLUDE_DIRECTORIES)
find_file(KMS_MI_HEADER mimalloc.h PATHS ${KMS_MI_INCLUDE} NO_DEFAULT_PATH)
if(NOT KMS_MI_HEADER)
  find_file(KMS_MI_HEADER mimalloc.h)
endif()
if(NOT KMS_MI_HEADER)
  message(FATAL_ERROR "mimalloc: found its CMake package but not mimalloc.h "
                      "(searched ${KMS_MI_INCLUDE}); install libmimalloc-dev")
endif()
file(STRINGS ${KMS_MI_HEADER} KMS_MI_VERSION_LINE REGEX "^#define MI_MALLOC_VERSION +[0-9]+")
string(REGEX MATCH "[0-9]+" KMS_MI_VERSION_NUM "${KMS_MI_VERSION_LINE}")
if(NOT KMS_MI_VERSION_NUM)
  message(FATAL_ERROR "mimalloc: ${KMS_MI_HEADER} has no MI_MALLOC_VERSION line")
endif()
# MI_MALLOC_VERSION is major * 100 + minor * 10 + patch (209 is 2.0.9).
math(EXPR KMS_MI_MAJOR "${KMS_MI_VERSION_NUM} / 100")
math(EXPR KMS_MI_MINOR "(${KMS_MI_VERSION_NUM} / 10) % 10")
math(EXPR KMS_MI_PATCH "${KMS_MI_VERSION_NUM} % 10")
set(KMS_MI_VERSION "${KMS_MI_MAJOR}.${KMS_MI_MINOR}.${KMS_MI_PATCH}")
if(NOT (KMS_MI_MAJOR EQUAL 2 AND KMS_MI_MINOR EQUAL 0 AND KMS_MI_PATCH GREATER_EQUAL 9))
  message(FATAL_ERROR
    "mimalloc ${KMS_MI_VERSION} found (${KMS_MI_HEADER}); kmemshim needs mimalloc 2.0.x, "
    "2.0.9 or later: exclusive arenas from mi_manage_os_memory_ex(), heaps bound to one "
    "arena with mi_heap_new_in_arena(), and at most 64 arenas per process (the engine keeps "
    "56 for itself). Other series change how arenas are chosen and counted. Debian 12 "
    "ships 2.0.9 (libmimalloc-dev).")
endif()

include(CheckSymbolExists)
set(CMAKE_REQUIRED_LIBRARIES mimalloc)
set(CMAKE_REQUIRED_QUIET ON)
foreach(sym mi_manage_os_memory_ex mi_heap_new_in_arena mi_heap_malloc_aligned_at)
  string(TOUPPER "KMS_HAVE_${sym}" var)
  check_symbol_exists(${sym} mimalloc.h ${var})
  if(NOT ${var})
    message(FATAL_ERROR "mimalloc ${KMS_MI_VERSION} (${KMS_MI_HEADER}) does not provide "
                        "${sym}(), which the engine uses (core/arena.c, core/engine.c)")
  endif()
endforeach()
unset(CMAKE_REQUIRED_LIBRARIES)
unset(CMAKE_REQUIRED_QUIET)
message(STATUS "mimalloc ${KMS_MI_VERSION}: ${KMS_MI_HEADER}")
