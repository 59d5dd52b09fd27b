/* The project's one version, from the VERSION file at the top (Makefile). */
#include "cmdline.h"

const char intercom_version[] = INTERCOM_VERSION;
