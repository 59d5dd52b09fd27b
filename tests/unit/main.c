#include "test.h"
#include "tests.h"

int main(int argc, char **argv)
{
	static const struct test_case *const suites[] = { protocol_tests, config_tests, command_tests, frame_tests,
							   dashboard_tests, store_tests, multipart_tests, motion_tests, recorder_tests };

	return test_run(suites, sizeof(suites) / sizeof(suites[0]), argc, argv);
}
