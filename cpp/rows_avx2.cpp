// Row kernels compiled with AVX2 + FMA (used only where the CPU has them); see rows_kernels.inc.
#define KERNEL_NS kavx2
#include "rows_kernels.inc"
