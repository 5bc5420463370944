// Package packaging puts ovfinit into an image: the service definitions for
// each init system (systemd, SysV init, OpenRC, FreeBSD rc.d, the Windows
// service manager) and the files an offline install writes under an image
// root (OVF appliances are manager/ova's). The Linux packages and the Windows MSI are
// built by ./linuxpkg and ./msi, driven by ./cmd/mkpkg (`make packages`).
//
// The definitions are rendered here, as plain text, and given to
// github.com/kardianos/service on a live host, or written by Install under a
// root directory for an image tree kardianos cannot see.
package packaging
