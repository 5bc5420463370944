// Package ovfenv is the OVF environment (DMTF DSP0243): the model, the
// parser, and the transports that deliver an ovf-env.xml to a guest.
//
// Namespaces are matched by URI, never by prefix, so a document that binds
// the environment namespace to another prefix (or to none) parses the same.
//
// Parse turns a document into an Environment, or returns every problem at
// once as *ParseError values that carry the line. ReadFile reads a document
// named on the command line; a Prober looks on every transport of
// DefaultTransports in parallel (the ISO medium labelled "OVF ENV", read
// with ReadISO without mounting, VMware guestinfo, QEMU fw_cfg, VirtualBox,
// Hyper-V KVP, a seed file) and polls until one has a document. Errors
// meaning "there is no environment here" wrap ErrNoEnvironment. The copies
// a boot keeps of the last valid environment are Saved (saved.go); Salvage
// reads what it can of a damaged document.
package ovfenv
