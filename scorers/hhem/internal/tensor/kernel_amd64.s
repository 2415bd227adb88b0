//go:build amd64 && !purego

#include "textflag.h"

// One k step of the 6×16 tile: two 8-wide halves of the packed row in
// Y12/Y13, one broadcast of each X row, twelve FMAs into Y0..Y11.
#define KSTEP \
	VMOVUPS (DI), Y12; \
	VMOVUPS 32(DI), Y13; \
	VBROADCASTSS (SI)(AX*1), Y14; \
	VFMADD231PS Y12, Y14, Y0; \
	VFMADD231PS Y13, Y14, Y1; \
	VBROADCASTSS (R10)(AX*1), Y15; \
	VFMADD231PS Y12, Y15, Y2; \
	VFMADD231PS Y13, Y15, Y3; \
	VBROADCASTSS (R11)(AX*1), Y14; \
	VFMADD231PS Y12, Y14, Y4; \
	VFMADD231PS Y13, Y14, Y5; \
	VBROADCASTSS (R12)(AX*1), Y15; \
	VFMADD231PS Y12, Y15, Y6; \
	VFMADD231PS Y13, Y15, Y7; \
	VBROADCASTSS (R13)(AX*1), Y14; \
	VFMADD231PS Y12, Y14, Y8; \
	VFMADD231PS Y13, Y14, Y9; \
	VBROADCASTSS (BX)(AX*1), Y15; \
	VFMADD231PS Y12, Y15, Y10; \
	VFMADD231PS Y13, Y15, Y11; \
	ADDQ $4, AX; \
	ADDQ $64, DI

#define STOREROW(lo, hi) \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ R9, DX

#define ADDROW(lo, hi) \
	VADDPS (DX), lo, lo; \
	VADDPS 32(DX), hi, hi; \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ R9, DX

// func kernel6x16AVX2(kc int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)
TEXT ·kernel6x16AVX2(SB), NOSPLIT, $0-49
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R9
	SHLQ $2, R9
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*1), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ AX, AX
	CMPQ CX, $2
	JLT  tail

pair:
	KSTEP
	KSTEP
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  pair

tail:
	TESTQ CX, CX
	JEQ   done
	KSTEP

done:
	MOVBLZX acc+48(FP), R8
	TESTQ   R8, R8
	JNE     accumulate
	STOREROW(Y0, Y1)
	STOREROW(Y2, Y3)
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	STOREROW(Y8, Y9)
	STOREROW(Y10, Y11)
	VZEROUPPER
	RET

accumulate:
	ADDROW(Y0, Y1)
	ADDROW(Y2, Y3)
	ADDROW(Y4, Y5)
	ADDROW(Y6, Y7)
	ADDROW(Y8, Y9)
	ADDROW(Y10, Y11)
	VZEROUPPER
	RET

// func addMaxAVX2(x, b *float32, n int) float32
// x[i] += b[i] for n (a positive multiple of 8) values; returns max x[i].
TEXT ·addMaxAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	VMOVUPS (DI), Y1
	VADDPS  (SI), Y1, Y1

addmaxloop:
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	VMAXPS  Y0, Y1, Y1
	ADDQ    $32, DI
	ADDQ    $32, SI
	DECQ    CX
	JNZ     addmaxloop
	VEXTRACTF128 $1, Y1, X0
	VMAXPS  X0, X1, X1
	VPERMILPS $0x4e, X1, X0
	VMAXPS  X0, X1, X1
	VPERMILPS $0xb1, X1, X0
	VMAXPS  X0, X1, X1
	VMOVSS  X1, ret+24(FP)
	VZEROUPPER
	RET

// EXPY0 sets Y3 = exp(Y0), clobbering Y0..Y5.
#define EXPY0 \
	VMINPS  exphi<>(SB), Y0, Y0; \
	VMAXPS  explo<>(SB), Y0, Y0; \
	VMULPS  log2e<>(SB), Y0, Y1; \
	VADDPS  half<>(SB), Y1, Y1; \
	VROUNDPS $1, Y1, Y1; \
	VMULPS  c1<>(SB), Y1, Y2; \
	VSUBPS  Y2, Y0, Y0; \
	VMULPS  c2<>(SB), Y1, Y2; \
	VSUBPS  Y2, Y0, Y0; \
	VMOVUPS p0<>(SB), Y3; \
	VFMADD213PS p1<>(SB), Y0, Y3; \
	VFMADD213PS p2<>(SB), Y0, Y3; \
	VFMADD213PS p3<>(SB), Y0, Y3; \
	VFMADD213PS p4<>(SB), Y0, Y3; \
	VFMADD213PS p5<>(SB), Y0, Y3; \
	VMULPS  Y0, Y0, Y4; \
	VFMADD213PS Y0, Y4, Y3; \
	VADDPS  one<>(SB), Y3, Y3; \
	VCVTTPS2DQ Y1, Y5; \
	VPADDD  i127<>(SB), Y5, Y5; \
	VPSLLD  $23, Y5, Y5; \
	VMULPS  Y5, Y3, Y3

// func expSumAVX2(x *float32, n int, shift float32) float32
// x[i] = exp(x[i]-shift) for n (a multiple of 8) values; returns the sum.
// Cephes-style: 2^floor(x·log2e+½) times a degree-5 polynomial on the
// remainder, which is what expf computes in pure Go too.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS shift+16(FP), Y15
	VXORPS Y14, Y14, Y14
	SHRQ $3, CX
	JEQ  expdone

exploop:
	VMOVUPS (DI), Y0
	VSUBPS  Y15, Y0, Y0
	EXPY0
	VMOVUPS Y3, (DI)
	VADDPS  Y3, Y14, Y14
	ADDQ    $32, DI
	DECQ    CX
	JNZ     exploop

expdone:
	VEXTRACTF128 $1, Y14, X0
	VADDPS  X0, X14, X14
	VPERMILPS $0x4e, X14, X0
	VADDPS  X0, X14, X14
	VPERMILPS $0xb1, X14, X0
	VADDPS  X0, X14, X14
	VMOVSS  X14, ret+24(FP)
	VZEROUPPER
	RET

// func geluMulAVX2(a, b *float32, n int)
// a[i] = gelu_tanh(a[i])·b[i] for n (a multiple of 8) values, using
// 0.5x(1+tanh u) = x - x/(e^{2u}+1), which stays finite when e^{2u} saturates.
TEXT ·geluMulAVX2(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ  geludone
	VMOVUPS gelua<>(SB), Y8
	VMOVUPS gelu2c<>(SB), Y10

geluloop:
	VMOVUPS (DI), Y6
	VMULPS  Y6, Y6, Y7
	VMULPS  Y6, Y7, Y7
	VFMADD213PS Y6, Y8, Y7
	VMULPS  Y10, Y7, Y0
	EXPY0
	VADDPS  one<>(SB), Y3, Y3
	VDIVPS  Y3, Y6, Y9
	VSUBPS  Y9, Y6, Y6
	VMULPS  (SI), Y6, Y6
	VMOVUPS Y6, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	DECQ    CX
	JNZ     geluloop

geludone:
	VZEROUPPER
	RET

DATA exphi<>+0(SB)/4, $0x42b0c0a5
DATA exphi<>+4(SB)/4, $0x42b0c0a5
DATA exphi<>+8(SB)/4, $0x42b0c0a5
DATA exphi<>+12(SB)/4, $0x42b0c0a5
DATA exphi<>+16(SB)/4, $0x42b0c0a5
DATA exphi<>+20(SB)/4, $0x42b0c0a5
DATA exphi<>+24(SB)/4, $0x42b0c0a5
DATA exphi<>+28(SB)/4, $0x42b0c0a5
GLOBL exphi<>(SB), RODATA|NOPTR, $32
DATA explo<>+0(SB)/4, $0xc2b0c0a5
DATA explo<>+4(SB)/4, $0xc2b0c0a5
DATA explo<>+8(SB)/4, $0xc2b0c0a5
DATA explo<>+12(SB)/4, $0xc2b0c0a5
DATA explo<>+16(SB)/4, $0xc2b0c0a5
DATA explo<>+20(SB)/4, $0xc2b0c0a5
DATA explo<>+24(SB)/4, $0xc2b0c0a5
DATA explo<>+28(SB)/4, $0xc2b0c0a5
GLOBL explo<>(SB), RODATA|NOPTR, $32
DATA log2e<>+0(SB)/4, $0x3fb8aa3b
DATA log2e<>+4(SB)/4, $0x3fb8aa3b
DATA log2e<>+8(SB)/4, $0x3fb8aa3b
DATA log2e<>+12(SB)/4, $0x3fb8aa3b
DATA log2e<>+16(SB)/4, $0x3fb8aa3b
DATA log2e<>+20(SB)/4, $0x3fb8aa3b
DATA log2e<>+24(SB)/4, $0x3fb8aa3b
DATA log2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e<>(SB), RODATA|NOPTR, $32
DATA half<>+0(SB)/4, $0x3f000000
DATA half<>+4(SB)/4, $0x3f000000
DATA half<>+8(SB)/4, $0x3f000000
DATA half<>+12(SB)/4, $0x3f000000
DATA half<>+16(SB)/4, $0x3f000000
DATA half<>+20(SB)/4, $0x3f000000
DATA half<>+24(SB)/4, $0x3f000000
DATA half<>+28(SB)/4, $0x3f000000
GLOBL half<>(SB), RODATA|NOPTR, $32
DATA one<>+0(SB)/4, $0x3f800000
DATA one<>+4(SB)/4, $0x3f800000
DATA one<>+8(SB)/4, $0x3f800000
DATA one<>+12(SB)/4, $0x3f800000
DATA one<>+16(SB)/4, $0x3f800000
DATA one<>+20(SB)/4, $0x3f800000
DATA one<>+24(SB)/4, $0x3f800000
DATA one<>+28(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $32
DATA c1<>+0(SB)/4, $0x3f318000
DATA c1<>+4(SB)/4, $0x3f318000
DATA c1<>+8(SB)/4, $0x3f318000
DATA c1<>+12(SB)/4, $0x3f318000
DATA c1<>+16(SB)/4, $0x3f318000
DATA c1<>+20(SB)/4, $0x3f318000
DATA c1<>+24(SB)/4, $0x3f318000
DATA c1<>+28(SB)/4, $0x3f318000
GLOBL c1<>(SB), RODATA|NOPTR, $32
DATA c2<>+0(SB)/4, $0xb95e8083
DATA c2<>+4(SB)/4, $0xb95e8083
DATA c2<>+8(SB)/4, $0xb95e8083
DATA c2<>+12(SB)/4, $0xb95e8083
DATA c2<>+16(SB)/4, $0xb95e8083
DATA c2<>+20(SB)/4, $0xb95e8083
DATA c2<>+24(SB)/4, $0xb95e8083
DATA c2<>+28(SB)/4, $0xb95e8083
GLOBL c2<>(SB), RODATA|NOPTR, $32
DATA p0<>+0(SB)/4, $0x39506967
DATA p0<>+4(SB)/4, $0x39506967
DATA p0<>+8(SB)/4, $0x39506967
DATA p0<>+12(SB)/4, $0x39506967
DATA p0<>+16(SB)/4, $0x39506967
DATA p0<>+20(SB)/4, $0x39506967
DATA p0<>+24(SB)/4, $0x39506967
DATA p0<>+28(SB)/4, $0x39506967
GLOBL p0<>(SB), RODATA|NOPTR, $32
DATA p1<>+0(SB)/4, $0x3ab743ce
DATA p1<>+4(SB)/4, $0x3ab743ce
DATA p1<>+8(SB)/4, $0x3ab743ce
DATA p1<>+12(SB)/4, $0x3ab743ce
DATA p1<>+16(SB)/4, $0x3ab743ce
DATA p1<>+20(SB)/4, $0x3ab743ce
DATA p1<>+24(SB)/4, $0x3ab743ce
DATA p1<>+28(SB)/4, $0x3ab743ce
GLOBL p1<>(SB), RODATA|NOPTR, $32
DATA p2<>+0(SB)/4, $0x3c088908
DATA p2<>+4(SB)/4, $0x3c088908
DATA p2<>+8(SB)/4, $0x3c088908
DATA p2<>+12(SB)/4, $0x3c088908
DATA p2<>+16(SB)/4, $0x3c088908
DATA p2<>+20(SB)/4, $0x3c088908
DATA p2<>+24(SB)/4, $0x3c088908
DATA p2<>+28(SB)/4, $0x3c088908
GLOBL p2<>(SB), RODATA|NOPTR, $32
DATA p3<>+0(SB)/4, $0x3d2aa9c1
DATA p3<>+4(SB)/4, $0x3d2aa9c1
DATA p3<>+8(SB)/4, $0x3d2aa9c1
DATA p3<>+12(SB)/4, $0x3d2aa9c1
DATA p3<>+16(SB)/4, $0x3d2aa9c1
DATA p3<>+20(SB)/4, $0x3d2aa9c1
DATA p3<>+24(SB)/4, $0x3d2aa9c1
DATA p3<>+28(SB)/4, $0x3d2aa9c1
GLOBL p3<>(SB), RODATA|NOPTR, $32
DATA p4<>+0(SB)/4, $0x3e2aaaaa
DATA p4<>+4(SB)/4, $0x3e2aaaaa
DATA p4<>+8(SB)/4, $0x3e2aaaaa
DATA p4<>+12(SB)/4, $0x3e2aaaaa
DATA p4<>+16(SB)/4, $0x3e2aaaaa
DATA p4<>+20(SB)/4, $0x3e2aaaaa
DATA p4<>+24(SB)/4, $0x3e2aaaaa
DATA p4<>+28(SB)/4, $0x3e2aaaaa
GLOBL p4<>(SB), RODATA|NOPTR, $32
DATA p5<>+0(SB)/4, $0x3f000000
DATA p5<>+4(SB)/4, $0x3f000000
DATA p5<>+8(SB)/4, $0x3f000000
DATA p5<>+12(SB)/4, $0x3f000000
DATA p5<>+16(SB)/4, $0x3f000000
DATA p5<>+20(SB)/4, $0x3f000000
DATA p5<>+24(SB)/4, $0x3f000000
DATA p5<>+28(SB)/4, $0x3f000000
GLOBL p5<>(SB), RODATA|NOPTR, $32
DATA i127<>+0(SB)/4, $0x0000007f
DATA i127<>+4(SB)/4, $0x0000007f
DATA i127<>+8(SB)/4, $0x0000007f
DATA i127<>+12(SB)/4, $0x0000007f
DATA i127<>+16(SB)/4, $0x0000007f
DATA i127<>+20(SB)/4, $0x0000007f
DATA i127<>+24(SB)/4, $0x0000007f
DATA i127<>+28(SB)/4, $0x0000007f
GLOBL i127<>(SB), RODATA|NOPTR, $32
DATA gelua<>+0(SB)/4, $0x3d372713
DATA gelua<>+4(SB)/4, $0x3d372713
DATA gelua<>+8(SB)/4, $0x3d372713
DATA gelua<>+12(SB)/4, $0x3d372713
DATA gelua<>+16(SB)/4, $0x3d372713
DATA gelua<>+20(SB)/4, $0x3d372713
DATA gelua<>+24(SB)/4, $0x3d372713
DATA gelua<>+28(SB)/4, $0x3d372713
GLOBL gelua<>(SB), RODATA|NOPTR, $32
DATA gelu2c<>+0(SB)/4, $0x3fcc422a
DATA gelu2c<>+4(SB)/4, $0x3fcc422a
DATA gelu2c<>+8(SB)/4, $0x3fcc422a
DATA gelu2c<>+12(SB)/4, $0x3fcc422a
DATA gelu2c<>+16(SB)/4, $0x3fcc422a
DATA gelu2c<>+20(SB)/4, $0x3fcc422a
DATA gelu2c<>+24(SB)/4, $0x3fcc422a
DATA gelu2c<>+28(SB)/4, $0x3fcc422a
GLOBL gelu2c<>(SB), RODATA|NOPTR, $32
