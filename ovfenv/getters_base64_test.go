package ovfenv

import (
	"strings"
	"testing"
)

// TestBase64Getter: a TypeBase64 key is decoded by the key table's getter,
// wrapped or not; a bad value is a PropertyError naming the key and line.
func TestBase64Getter(t *testing.T) {
	env, err := Parse([]byte(`<?xml version="1.0"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1">
  <PropertySection>
    <Property oe:key="ovfinit.script" oe:value="bG9nLmlu
Zm8oIngiKQo="/>
    <Property oe:key="ovfinit.callback.ca" oe:value="-----BEGIN"/>
  </PropertySection>
</Environment>`))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := env.Base64(KeyScript); err != nil || string(b) != "log.info(\"x\")\n" {
		t.Errorf("Base64(%s) = %q, %v; want the decoded script", KeyScript.Name, b, err)
	}
	if b, err := env.Base64(KeyCallbackCA); err == nil || !strings.Contains(err.Error(), "property ovfinit.callback.ca (ovf-env.xml line 6): not base64") {
		t.Errorf("Base64(%s) = %q, %v; want a not-base64 error naming the property and line", KeyCallbackCA.Name, b, err)
	}
	if b, err := env.Base64(KeyCallbackClientCert); b != nil || err != nil {
		t.Errorf("Base64(unset) = %q, %v; want nil, nil", b, err)
	}
}
