// Package ovfenv is the OVF environment (DMTF DSP0243): the model, the
// parser, and the transports that deliver an ovf-env.xml to a guest.
//
// Namespaces are matched by URI, never by prefix, so a document that binds
// the environment namespace to another prefix (or to none) parses the same.
//
// Parse turns a document into an Environment, or returns every problem at
// once as *ParseError values that carry the line. ReadFile reads a document
// named on the command line; a Prober looks on every transport of
// DefaultTransports in parallel and polls until one has a document (the
// ISO transport finds the medium labelled "OVF ENV" among Linux's block
// devices, and ReadISO reads the document from it without mounting). Errors meaning "there is no
// environment here" wrap ErrNoEnvironment.
package ovfenv
