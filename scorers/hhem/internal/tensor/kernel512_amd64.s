//go:build amd64 && !purego

#include "textflag.h"

#define ZERO2(a, b) \
	VPXORD a, a, a; \
	VPXORD b, b, b

// The narrow tile: 6 rows of unpacked A (row stride lda, as the AVX2
// tile reads it) × 4 panels (64 columns), for products as narrow as the
// attention's P·V, where packing A would cost as much as multiplying.
// Rows: SI, R10..R13, BX, indexed by AX; panels: DI, DI+R8, R15, R15+R8.
#define ROW4(ptr, c0, c1, c2, c3) \
	VBROADCASTSS (ptr)(AX*1), Z28; \
	VFMADD231PS  Z24, Z28, c0; \
	VFMADD231PS  Z25, Z28, c1; \
	VFMADD231PS  Z26, Z28, c2; \
	VFMADD231PS  Z27, Z28, c3

#define KSTEP6x64 \
	VMOVUPS (DI), Z24; \
	VMOVUPS (DI)(R8*1), Z25; \
	VMOVUPS (R15), Z26; \
	VMOVUPS (R15)(R8*1), Z27; \
	ROW4(SI, Z0, Z1, Z2, Z3); \
	ROW4(R10, Z4, Z5, Z6, Z7); \
	ROW4(R11, Z8, Z9, Z10, Z11); \
	ROW4(R12, Z12, Z13, Z14, Z15); \
	ROW4(R13, Z16, Z17, Z18, Z19); \
	ROW4(BX, Z20, Z21, Z22, Z23); \
	ADDQ $4, AX; \
	ADDQ $64, DI; \
	ADDQ $64, R15

#define STORE4(a, b, c, d) \
	VMOVUPS a, (DX); \
	VMOVUPS b, 64(DX); \
	VMOVUPS c, 128(DX); \
	VMOVUPS d, 192(DX); \
	ADDQ    R9, DX

#define ADD4(a, b, c, d) \
	VADDPS  (DX), a, a; \
	VADDPS  64(DX), b, b; \
	VADDPS  128(DX), c, c; \
	VADDPS  192(DX), d, d; \
	VMOVUPS a, (DX); \
	VMOVUPS b, 64(DX); \
	VMOVUPS c, 128(DX); \
	VMOVUPS d, 192(DX); \
	ADDQ    R9, DX

// func kernel6x64AVX512(kc int, a *float32, lda int, b *float32, pstride int, c *float32, ldc int, acc bool)
// c[6×64] (+)= a[6×kc] · four panels of b, pstride floats apart.
TEXT ·kernel6x64AVX512(SB), NOSPLIT, $0-57
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*1), BX
	MOVQ b+24(FP), DI
	MOVQ pstride+32(FP), R8
	SHLQ $2, R8
	LEAQ (DI)(R8*2), R15
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R9
	SHLQ $2, R9
	ZERO2(Z0, Z1)
	ZERO2(Z2, Z3)
	ZERO2(Z4, Z5)
	ZERO2(Z6, Z7)
	ZERO2(Z8, Z9)
	ZERO2(Z10, Z11)
	ZERO2(Z12, Z13)
	ZERO2(Z14, Z15)
	ZERO2(Z16, Z17)
	ZERO2(Z18, Z19)
	ZERO2(Z20, Z21)
	ZERO2(Z22, Z23)
	XORQ AX, AX
	TESTQ CX, CX
	JEQ  done64

loop64:
	KSTEP6x64
	DECQ CX
	JNZ  loop64

done64:
	MOVBLZX acc+56(FP), R8
	TESTQ   R8, R8
	JNE     add64
	STORE4(Z0, Z1, Z2, Z3)
	STORE4(Z4, Z5, Z6, Z7)
	STORE4(Z8, Z9, Z10, Z11)
	STORE4(Z12, Z13, Z14, Z15)
	STORE4(Z16, Z17, Z18, Z19)
	STORE4(Z20, Z21, Z22, Z23)
	VZEROUPPER
	RET

add64:
	ADD4(Z0, Z1, Z2, Z3)
	ADD4(Z4, Z5, Z6, Z7)
	ADD4(Z8, Z9, Z10, Z11)
	ADD4(Z12, Z13, Z14, Z15)
	ADD4(Z16, Z17, Z18, Z19)
	ADD4(Z20, Z21, Z22, Z23)
	VZEROUPPER
	RET
