package errlist

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestFlatten(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	wrapped := fmt.Errorf("w: %w", c)
	for _, tc := range []struct {
		err  error
		want []error
	}{
		{nil, nil},
		{a, []error{a}},
		{errors.Join(a, errors.Join(b, nil, wrapped)), []error{a, b, wrapped}},
	} {
		if got := Flatten(tc.err); !slices.Equal(got, tc.want) {
			t.Errorf("Flatten(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
