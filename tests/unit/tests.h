#ifndef TESTS_H
#define TESTS_H
#include "test.h"
extern const struct test_case protocol_tests[];
extern const struct test_case config_tests[];
extern const struct test_case command_tests[];
extern const struct test_case frame_tests[];
extern const struct test_case dashboard_tests[];
extern const struct test_case store_tests[];
extern const struct test_case multipart_tests[];
extern const struct test_case motion_tests[];
extern const struct test_case recorder_tests[];
#endif
