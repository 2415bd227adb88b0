//go:build amd64 && !purego

#include "textflag.h"

// The AVX-512 tiles read A packed k-major in micro-panels of 14 rows (56
// bytes per k step, one pointer, no row strides) and B as one or two
// 16-column panels (64 bytes per k step each). Accumulators: Z0..Z27; B
// rows: Z28/Z29; broadcasts alternate between Z30 and Z31 so consecutive
// rows do not wait on one register.

#define ROW2(off, bc, c0, c1) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Z28, bc, c0; \
	VFMADD231PS  Z29, bc, c1

#define KSTEP14x32 \
	VMOVUPS (DI), Z28; \
	VMOVUPS (R8), Z29; \
	ROW2(0, Z30, Z0, Z1); \
	ROW2(4, Z31, Z2, Z3); \
	ROW2(8, Z30, Z4, Z5); \
	ROW2(12, Z31, Z6, Z7); \
	ROW2(16, Z30, Z8, Z9); \
	ROW2(20, Z31, Z10, Z11); \
	ROW2(24, Z30, Z12, Z13); \
	ROW2(28, Z31, Z14, Z15); \
	ROW2(32, Z30, Z16, Z17); \
	ROW2(36, Z31, Z18, Z19); \
	ROW2(40, Z30, Z20, Z21); \
	ROW2(44, Z31, Z22, Z23); \
	ROW2(48, Z30, Z24, Z25); \
	ROW2(52, Z31, Z26, Z27); \
	ADDQ $56, SI; \
	ADDQ $64, DI; \
	ADDQ $64, R8

#define ZERO2(a, b) \
	VPXORD a, a, a; \
	VPXORD b, b, b

#define STORE2(a, b) \
	VMOVUPS a, (DX); \
	VMOVUPS b, 64(DX); \
	ADDQ    R9, DX

#define ADD2(a, b) \
	VADDPS  (DX), a, a; \
	VADDPS  64(DX), b, b; \
	VMOVUPS a, (DX); \
	VMOVUPS b, 64(DX); \
	ADDQ    R9, DX

#define ROW1(off, bc, c0) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Z28, bc, c0

#define KSTEP14x16 \
	VMOVUPS (DI), Z28; \
	ROW1(0, Z30, Z0); \
	ROW1(4, Z31, Z1); \
	ROW1(8, Z30, Z2); \
	ROW1(12, Z31, Z3); \
	ROW1(16, Z30, Z4); \
	ROW1(20, Z31, Z5); \
	ROW1(24, Z30, Z6); \
	ROW1(28, Z31, Z7); \
	ROW1(32, Z30, Z8); \
	ROW1(36, Z31, Z9); \
	ROW1(40, Z30, Z10); \
	ROW1(44, Z31, Z11); \
	ROW1(48, Z30, Z12); \
	ROW1(52, Z31, Z13); \
	ADDQ $56, SI; \
	ADDQ $64, DI

#define STORE1(a) \
	VMOVUPS a, (DX); \
	ADDQ    R9, DX

#define ADD1(a) \
	VADDPS  (DX), a, a; \
	VMOVUPS a, (DX); \
	ADDQ    R9, DX

// func kernel14x16AVX512(kc int, a, b, c *float32, ldc int, acc bool)
// c[14×16] (+)= a[14×kc packed] · b: the odd last panel of a product.
TEXT ·kernel14x16AVX512(SB), NOSPLIT, $0-41
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R9
	SHLQ $2, R9
	ZERO2(Z0, Z1)
	ZERO2(Z2, Z3)
	ZERO2(Z4, Z5)
	ZERO2(Z6, Z7)
	ZERO2(Z8, Z9)
	ZERO2(Z10, Z11)
	ZERO2(Z12, Z13)
	TESTQ CX, CX
	JEQ   done16

loop16:
	KSTEP14x16
	DECQ CX
	JNZ  loop16

done16:
	MOVBLZX acc+40(FP), R8
	TESTQ   R8, R8
	JNE     add16
	STORE1(Z0)
	STORE1(Z1)
	STORE1(Z2)
	STORE1(Z3)
	STORE1(Z4)
	STORE1(Z5)
	STORE1(Z6)
	STORE1(Z7)
	STORE1(Z8)
	STORE1(Z9)
	STORE1(Z10)
	STORE1(Z11)
	STORE1(Z12)
	STORE1(Z13)
	VZEROUPPER
	RET

add16:
	ADD1(Z0)
	ADD1(Z1)
	ADD1(Z2)
	ADD1(Z3)
	ADD1(Z4)
	ADD1(Z5)
	ADD1(Z6)
	ADD1(Z7)
	ADD1(Z8)
	ADD1(Z9)
	ADD1(Z10)
	ADD1(Z11)
	ADD1(Z12)
	ADD1(Z13)
	VZEROUPPER
	RET

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
