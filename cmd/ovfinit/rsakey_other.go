//go:build !unix

package main

import "errors"

// canLowerPriority: not here (Windows): the key is made in the process.
const canLowerPriority = false

func lowestPriority() error { return errors.New("not supported on this system") }
