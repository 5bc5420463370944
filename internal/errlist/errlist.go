// Package errlist flattens the errors.Join trees that validators return
// (every problem at once) into one list, one problem an entry, for
// printing each on its own line or wrapping each with its location.
package errlist

// Flatten returns the errors err joins, nested joins included, in order;
// an error that joins nothing is itself; nil is none.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}
