// Row kernels for any x86-64 (or other) CPU; see rows_kernels.inc.
#define KERNEL_NS kbase
#include "rows_kernels.inc"
