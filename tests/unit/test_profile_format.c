/* SPDX-License-Identifier: MIT */
/* The profile's format (core/profile_format.h): columns found by name in any
 * order, unknown ones skipped, incomplete column lines and short rows told. */
#include "core/profile_format.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define PLAIN "# peak_live\tcount\tbytes\tlive_at_exit\troutes\tcallsite\tsymbol\tsource\tsizes"
#define ACCESS "\tresident_peak\ttouched_avg\ttouched_peak\twritten_avg\ttouches"
#define PARENT "\tparent\tparent_symbol"

START_TEST(the_written_line_is_read_back)
{
    /* The line the writer makes from the names. */
    char line[1024] = "";
    for (int c = 0; c <= KMS_PCOL_LAST_ACCESS; c++) {
        strcat(line, c ? "\t" : "# ");
        strcat(line, kms_profile_col_names[c]);
    }
    ck_assert_str_eq(line, PLAIN ACCESS PARENT);
    struct kms_profile_columns cols;
    const char *why = NULL;
    ck_assert_int_eq(kms_profile_columns_parse(line, true, &cols, &why), 0);
    ck_assert_int_eq(cols.n, KMS_PCOL_N);
    for (int c = 0; c < KMS_PCOL_N; c++)
        ck_assert_int_eq(cols.at[c], c);
}
END_TEST

START_TEST(old_profiles_have_no_parent_or_no_access)
{
    struct kms_profile_columns cols;
    const char *why = NULL;
    ck_assert_int_eq(kms_profile_columns_parse(PLAIN, false, &cols, &why), 0);
    ck_assert_int_eq(cols.n, 9);
    ck_assert_int_eq(cols.at[KMS_PCOL_RESIDENT_PEAK], -1);
    ck_assert_int_eq(cols.at[KMS_PCOL_PARENT], -1);
    ck_assert_int_eq(kms_profile_columns_parse(PLAIN ACCESS, true, &cols, &why), 0);
    ck_assert_int_eq(cols.at[KMS_PCOL_TOUCHES], 13);
    ck_assert_int_eq(cols.at[KMS_PCOL_PARENT], -1);
}
END_TEST

START_TEST(columns_in_any_order_and_unknown_ones)
{
    const char *line = "# callsite\tfuture\tsizes\tpeak_live\tsource\tcount\tbytes\tsymbol\t"
                       "live_at_exit\troutes";
    struct kms_profile_columns cols;
    const char *why = NULL;
    /* Not a column line: it must start with peak_live. */
    ck_assert_int_eq(kms_profile_columns_parse(line, false, &cols, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "not a column line"));
    line = "# peak_live\tfuture\tsizes\tcallsite\tsource\tcount\tbytes\tsymbol\tlive_at_exit\t"
           "routes";
    ck_assert_int_eq(kms_profile_columns_parse(line, false, &cols, &why), 0);
    ck_assert_int_eq(cols.n, 10);
    ck_assert_int_eq(cols.at[KMS_PCOL_CALLSITE], 3);
    ck_assert_int_eq(cols.at[KMS_PCOL_ROUTES], 9);

    char row[] = "100\tx\t1:2\tprog+0x10\tf.c:3\t7\t200\tmain+0x4\t50\tdram";
    const char *f[KMS_PCOL_N];
    ck_assert_int_eq(kms_profile_row_split(row, &cols, f), 10);
    ck_assert_str_eq(f[KMS_PCOL_PEAK], "100");
    ck_assert_str_eq(f[KMS_PCOL_CALLSITE], "prog+0x10");
    ck_assert_str_eq(f[KMS_PCOL_SYMBOL], "main+0x4");
    ck_assert_str_eq(f[KMS_PCOL_ROUTES], "dram");
    ck_assert_ptr_null(f[KMS_PCOL_PARENT]);
}
END_TEST

START_TEST(incomplete_column_lines)
{
    struct kms_profile_columns cols;
    const char *why = NULL;
    /* No sizes. */
    ck_assert_int_eq(kms_profile_columns_parse("# peak_live\tcount\tbytes\tlive_at_exit\troutes\t"
                                               "callsite\tsymbol\tsource",
                                               false, &cols, &why),
                     -1);
    ck_assert_ptr_nonnull(strstr(why, "lacks a column"));
    /* Some access columns. */
    ck_assert_int_eq(
        kms_profile_columns_parse(PLAIN "\tresident_peak\ttouched_avg", false, &cols, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "some access columns"));
    /* An '# access' header and none. */
    ck_assert_int_eq(kms_profile_columns_parse(PLAIN, true, &cols, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "no access columns"));
    /* parent without parent_symbol. */
    ck_assert_int_eq(kms_profile_columns_parse(PLAIN ACCESS "\tparent", true, &cols, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "parent"));
    /* Empty names, a lone "# ". */
    ck_assert_int_eq(kms_profile_columns_parse("# ", false, &cols, &why), -1);
    ck_assert_int_eq(kms_profile_columns_parse("", false, &cols, &why), -1);
    ck_assert(!kms_profile_is_column_line("# peak_live"));
    ck_assert(!kms_profile_is_column_line("# peak_lived\tcount"));
    ck_assert(kms_profile_is_column_line("# peak_live\tcount"));
}
END_TEST

START_TEST(short_and_long_rows)
{
    struct kms_profile_columns cols;
    const char *why = NULL;
    ck_assert_int_eq(kms_profile_columns_parse(PLAIN ACCESS PARENT, true, &cols, &why), 0);
    const char *f[KMS_PCOL_N];
    char short_row[] = "1\t2\t3\t4\tdram\tp+0x1\t-\t-\t16:1";
    ck_assert_int_eq(kms_profile_row_split(short_row, &cols, f), 9);
    ck_assert_str_eq(f[KMS_PCOL_SIZES], "16:1");
    ck_assert_ptr_null(f[KMS_PCOL_TOUCHES]);
    char long_row[] = "1\t2\t3\t4\tdram\tp+0x1\t-\t-\t16:1\t5\t6\t7\tn/a\t8\tp+0x2\tf+0x3\textra";
    ck_assert_int_eq(kms_profile_row_split(long_row, &cols, f), 17);
    ck_assert_str_eq(f[KMS_PCOL_PARENT_SYMBOL], "f+0x3");
    char empty[] = "";
    ck_assert_int_eq(kms_profile_row_split(empty, &cols, f), 1);
    ck_assert_str_eq(f[KMS_PCOL_PEAK], "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("profile_format");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, the_written_line_is_read_back);
    tcase_add_test(tc, old_profiles_have_no_parent_or_no_access);
    tcase_add_test(tc, columns_in_any_order_and_unknown_ones);
    tcase_add_test(tc, incomplete_column_lines);
    tcase_add_test(tc, short_and_long_rows);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
