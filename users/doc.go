// Package users creates the user accounts the OVF environment asks for, with
// their home directories and SSH authorized keys, under a root directory so
// that it works on a live system and on an offline image tree alike.
package users
