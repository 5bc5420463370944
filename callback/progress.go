package callback

// TypeProgress is a step's progress report, from a script's progress(): the
// step is the one running, the message says how far it is.
const TypeProgress = "org.ovfinit.progress"
