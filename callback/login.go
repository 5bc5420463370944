package callback

// TypeLogin is sent for every SSH login to the embedded server; Message
// says who, from where and with which key fingerprint (never a secret).
// `sanitize --if-no-login` relies on it.
const TypeLogin = "org.ovfinit.login"
