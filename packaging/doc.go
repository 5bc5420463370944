// Package packaging will hold what puts ovfinit into an image: service
// definitions for each init system, release builds and packages. It is empty
// in the walking skeleton; `make build` makes the static binary meanwhile.
package packaging
