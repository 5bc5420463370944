package main

// defaultStateDir is the agent's state directory (under --root): in
// %ProgramData%\ovfinit, whose DACL lets SYSTEM and Administrators in only
// (agent.secureDirs).
const defaultStateDir = "/ProgramData/ovfinit/state"

// defaultLogFile is run's --log-file, in the same protected tree.
const defaultLogFile = "/ProgramData/ovfinit/log/ovfinit.log"
