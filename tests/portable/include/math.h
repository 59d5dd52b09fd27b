/* The few <math.h> functions the intercom library uses, for a freestanding
 * cross-compile (tests/portable/check). */
#ifndef PORTABLE_MATH_H
#define PORTABLE_MATH_H
#define isfinite(x) __builtin_isfinite(x)
double fabs(double x);
double floor(double x);
double round(double x);
#endif
