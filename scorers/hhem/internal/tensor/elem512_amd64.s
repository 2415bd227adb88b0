//go:build amd64 && !purego

#include "textflag.h"

// The element-wise kernels of the attention and feed-forward on 16 lanes:
// the AVX2 ones (kernel_amd64.s) instruction for instruction, so every
// lane computes the same float32 result; only the order of the sums and
// maxima over lanes differs. Their constants live in Z16..Z31 for the
// whole call:
//   Z16 exp's upper clamp    Z17 lower clamp   Z18 log2 e   Z19 ½   Z20 1
//   Z21, Z22 ln 2 split in two   Z23..Z28 the polynomial   Z29 127
//   Z30 GELU's 0.044715   Z31 2·√(2/π)

DATA consts512<>+0(SB)/4, $0x42b0c0a5
DATA consts512<>+4(SB)/4, $0xc2b0c0a5
DATA consts512<>+8(SB)/4, $0x3fb8aa3b
DATA consts512<>+12(SB)/4, $0x3f000000
DATA consts512<>+16(SB)/4, $0x3f800000
DATA consts512<>+20(SB)/4, $0x3f318000
DATA consts512<>+24(SB)/4, $0xb95e8083
DATA consts512<>+28(SB)/4, $0x39506967
DATA consts512<>+32(SB)/4, $0x3ab743ce
DATA consts512<>+36(SB)/4, $0x3c088908
DATA consts512<>+40(SB)/4, $0x3d2aa9c1
DATA consts512<>+44(SB)/4, $0x3e2aaaaa
DATA consts512<>+48(SB)/4, $0x3f000000
DATA consts512<>+52(SB)/4, $0x0000007f
DATA consts512<>+56(SB)/4, $0x3d372713
DATA consts512<>+60(SB)/4, $0x3fcc422a
GLOBL consts512<>(SB), RODATA|NOPTR, $64

#define LOADCONSTS \
	VBROADCASTSS consts512<>+0(SB), Z16; \
	VBROADCASTSS consts512<>+4(SB), Z17; \
	VBROADCASTSS consts512<>+8(SB), Z18; \
	VBROADCASTSS consts512<>+12(SB), Z19; \
	VBROADCASTSS consts512<>+16(SB), Z20; \
	VBROADCASTSS consts512<>+20(SB), Z21; \
	VBROADCASTSS consts512<>+24(SB), Z22; \
	VBROADCASTSS consts512<>+28(SB), Z23; \
	VBROADCASTSS consts512<>+32(SB), Z24; \
	VBROADCASTSS consts512<>+36(SB), Z25; \
	VBROADCASTSS consts512<>+40(SB), Z26; \
	VBROADCASTSS consts512<>+44(SB), Z27; \
	VBROADCASTSS consts512<>+48(SB), Z28; \
	VBROADCASTSS consts512<>+52(SB), Z29; \
	VBROADCASTSS consts512<>+56(SB), Z30; \
	VBROADCASTSS consts512<>+60(SB), Z31

// EXPZ0 sets Z3 = exp(Z0), clobbering Z0..Z5.
#define EXPZ0 \
	VMINPS      Z16, Z0, Z0; \
	VMAXPS      Z17, Z0, Z0; \
	VMULPS      Z18, Z0, Z1; \
	VADDPS      Z19, Z1, Z1; \
	VRNDSCALEPS $1, Z1, Z1; \
	VMULPS      Z21, Z1, Z2; \
	VSUBPS      Z2, Z0, Z0; \
	VMULPS      Z22, Z1, Z2; \
	VSUBPS      Z2, Z0, Z0; \
	VMOVAPS     Z23, Z3; \
	VFMADD213PS Z24, Z0, Z3; \
	VFMADD213PS Z25, Z0, Z3; \
	VFMADD213PS Z26, Z0, Z3; \
	VFMADD213PS Z27, Z0, Z3; \
	VFMADD213PS Z28, Z0, Z3; \
	VMULPS      Z0, Z0, Z4; \
	VFMADD213PS Z0, Z4, Z3; \
	VADDPS      Z20, Z3, Z3; \
	VCVTTPS2DQ  Z1, Z5; \
	VPADDD      Z29, Z5, Z5; \
	VPSLLD      $23, Z5, Z5; \
	VMULPS      Z5, Z3, Z3

// func expSumAVX512(x *float32, n int, shift float32) float32
// x[i] = exp(x[i]-shift) for n (a multiple of 16) values; returns the sum.
TEXT ·expSumAVX512(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS shift+16(FP), Z15
	VPXORD       Z14, Z14, Z14
	LOADCONSTS
	SHRQ         $4, CX
	JEQ          exp512done

exp512loop:
	VMOVUPS (DI), Z0
	VSUBPS  Z15, Z0, Z0
	EXPZ0
	VMOVUPS Z3, (DI)
	VADDPS  Z3, Z14, Z14
	ADDQ    $64, DI
	DECQ    CX
	JNZ     exp512loop

exp512done:
	VEXTRACTF64X4 $1, Z14, Y0
	VADDPS        Y0, Y14, Y14
	VEXTRACTF128  $1, Y14, X0
	VADDPS        X0, X14, X14
	VPERMILPS     $0x4e, X14, X0
	VADDPS        X0, X14, X14
	VPERMILPS     $0xb1, X14, X0
	VADDPS        X0, X14, X14
	VMOVSS        X14, ret+24(FP)
	VZEROUPPER
	RET

// func addMaxAVX512(x, b *float32, n int) float32
// x[i] += b[i] for n (a positive multiple of 16) values; returns max x[i].
TEXT ·addMaxAVX512(SB), NOSPLIT, $0-28
	MOVQ    x+0(FP), DI
	MOVQ    b+8(FP), SI
	MOVQ    n+16(FP), CX
	SHRQ    $4, CX
	VMOVUPS (DI), Z1
	VADDPS  (SI), Z1, Z1

addmax512loop:
	VMOVUPS (DI), Z0
	VADDPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	VMAXPS  Z0, Z1, Z1
	ADDQ    $64, DI
	ADDQ    $64, SI
	DECQ    CX
	JNZ     addmax512loop
	VEXTRACTF64X4 $1, Z1, Y0
	VMAXPS        Y0, Y1, Y1
	VEXTRACTF128  $1, Y1, X0
	VMAXPS        X0, X1, X1
	VPERMILPS     $0x4e, X1, X0
	VMAXPS        X0, X1, X1
	VPERMILPS     $0xb1, X1, X0
	VMAXPS        X0, X1, X1
	VMOVSS        X1, ret+24(FP)
	VZEROUPPER
	RET

// func geluMulAVX512(a, b *float32, n int)
// a[i] = gelu_tanh(a[i])·b[i] for n (a multiple of 16) values, as
// geluMulAVX2: x - x/(e^{2u}+1).
TEXT ·geluMulAVX512(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
	SHRQ $4, CX
	JEQ  gelu512done

gelu512loop:
	VMOVUPS     (DI), Z6
	VMULPS      Z6, Z6, Z7
	VMULPS      Z6, Z7, Z7
	VFMADD213PS Z6, Z30, Z7
	VMULPS      Z31, Z7, Z0
	EXPZ0
	VADDPS      Z20, Z3, Z3
	VDIVPS      Z3, Z6, Z9
	VSUBPS      Z9, Z6, Z6
	VMULPS      (SI), Z6, Z6
	VMOVUPS     Z6, (DI)
	ADDQ        $64, DI
	ADDQ        $64, SI
	DECQ        CX
	JNZ         gelu512loop

gelu512done:
	VZEROUPPER
	RET
