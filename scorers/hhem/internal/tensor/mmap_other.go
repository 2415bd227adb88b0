//go:build !unix

package tensor

import "errors"

func mapFloats(int) ([]float32, func(), error) {
	return nil, nil, errors.New("tensor: no anonymous mappings on this platform")
}
