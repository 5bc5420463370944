// Package winacl gives ovfinit's directories and files on Windows a DACL
// for SYSTEM and Administrators only, set when they are created, and reads
// it back for tests. Elsewhere the Unix modes do that job: the functions
// fall back to os.MkdirAll with the mode given, and Protect does nothing.
package winacl

// SDDL is the security descriptor of every directory and file that holds
// ovfinit's state or secrets on Windows: a protected DACL (P: nothing
// inherited from the drive), full access for Local System (SY) and the
// Administrators group (BA), inherited by the files (OI) and directories
// (CI) created inside.
const SDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
