package tensor

import "math"

// Expf is a float32 exp accurate to a couple of ulps, several times faster
// than math.Exp: 2^n · p(r) with n = round(x·log2 e) and p a degree-5
// polynomial on the remainder (the Cephes expf scheme, which the AVX2
// softmax uses too, so both paths agree).
func Expf(x float32) float32 {
	const (
		hi    = 88.3762626647949
		lo    = -88.3762626647949
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	x = min(max(x, lo), hi)
	fx := float32(math.Floor(float64(x*log2e + 0.5)))
	x -= fx * c1
	x -= fx * c2
	y := float32(1.9875691500e-4)
	y = y*x + 1.3981999507e-3
	y = y*x + 8.3334519073e-3
	y = y*x + 4.1665795894e-2
	y = y*x + 1.6666665459e-1
	y = y*x + 5.0000001201e-1
	y = y*x*x + x + 1
	return y * math.Float32frombits(uint32(int32(fx)+127)<<23)
}

func addMaxGo(x, b []float32) float32 {
	b = b[:len(x)]
	m := float32(math.Inf(-1))
	for i := range x {
		x[i] += b[i]
		m = max(m, x[i])
	}
	return m
}

func expSumGo(x []float32, shift float32) float32 {
	var s float32
	for i, v := range x {
		e := Expf(v - shift)
		x[i] = e
		s += e
	}
	return s
}

// BiasExp adds bias to the attention scores in x, then replaces them with
// exp(score - max) and returns the sum: the unnormalised softmax. Callers
// divide the (much shorter) P·V output row by the sum instead of dividing
// every probability.
func BiasExp(x, bias []float32) float32 {
	return expSum(x, addMax(x, bias))
}

// GeluTanhMul sets a[i] = gelu_tanh(a[i]) · b[i], the gated-GELU of T5 v1.1
// and Flan-T5 ("gelu_new"): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
func GeluTanhMul(a, b []float32) { geluMul(a, b) }

func geluMulGo(a, b []float32) {
	const c2 = 2 * 0.7978845608028654 // 2·√(2/π)
	b = b[:len(a)]
	for i, x := range a {
		// 0.5x(1+tanh u) = x − x/(e^{2u}+1); Expf saturates, so this
		// stays finite and tends to x or 0 for large |u|.
		e := Expf(c2 * (x + 0.044715*x*x*x))
		a[i] = (x - x/(e+1)) * b[i]
	}
}

// RMSNorm writes x·w/√(mean(x²)+eps) into dst (T5's LayerNorm: no mean
// subtraction, no bias). The sum of squares is taken in float64.
func RMSNorm(dst, x, w []float32, eps float32) {
	r := float32(1 / math.Sqrt(sumSq(x)/float64(len(x))+float64(eps)))
	scaleMul(dst[:len(x)], x, w[:len(x)], r)
}

func sumSqGo(x []float32) float64 {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	return ss
}

func scaleMulGo(dst, x, w []float32, r float32) {
	w = w[:len(x)]
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = v * r * w[i]
	}
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}
