//go:build amd64 && !purego

#include "textflag.h"

// func absMaxAVX512(x *float32, n int) float32
// max |x[i]| over n (a positive multiple of 16) values.
TEXT ·absMaxAVX512(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHRQ   $4, CX
	VPXORD Z0, Z0, Z0
	MOVL   $0x7fffffff, AX
	VPBROADCASTD AX, Z2

amloop:
	VPANDD  (SI), Z2, Z1
	VMAXPS  Z1, Z0, Z0
	ADDQ    $64, SI
	DECQ    CX
	JNZ     amloop
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS  Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS  X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS  X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS  X1, X0, X0
	VMOVSS  X0, ret+16(FP)
	VZEROUPPER
	RET

// func quantI8AVX512(x *float32, n int, inv float32, out *byte)
// out[i] = round_even(x[i]·inv) + 128 as a byte, for n (a positive
// multiple of 16) values already within ±127.5 after scaling.
TEXT ·quantI8AVX512(SB), NOSPLIT, $0-32
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHRQ   $4, CX
	VBROADCASTSS inv+16(FP), Z2
	MOVQ   out+24(FP), DI
	MOVL   $0x80808080, AX
	VPBROADCASTD AX, X3

qloop:
	VMULPS    (SI), Z2, Z0
	VCVTPS2DQ Z0, Z0
	VPMOVSDB  Z0, X1
	VPXORD    X3, X1, X1
	VMOVDQU   X1, (DI)
	ADDQ      $64, SI
	ADDQ      $16, DI
	DECQ      CX
	JNZ       qloop
	VZEROUPPER
	RET

// func toBF16AVX512(x *float32, n int, out *uint16)
// out[i] = x[i] rounded to bfloat16 (nearest, ties to even; NaNs are not
// expected in activations), for n (a positive multiple of 16) values.
TEXT ·toBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHRQ   $4, CX
	MOVQ   out+16(FP), DI
	MOVL   $0x7fff, AX
	VPBROADCASTD AX, Z2
	MOVL   $1, AX
	VPBROADCASTD AX, Z3

bfloop:
	VMOVDQU32 (SI), Z0
	VPSRLD    $16, Z0, Z1
	VPANDD    Z3, Z1, Z1
	VPADDD    Z2, Z1, Z1
	VPADDD    Z1, Z0, Z0
	VPSRLD    $16, Z0, Z0
	VPMOVDW   Z0, Y1
	VMOVDQU   Y1, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       bfloop
	VZEROUPPER
	RET
