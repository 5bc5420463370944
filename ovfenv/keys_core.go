package ovfenv

var identityKeys []Key

var (
	KeyInstanceID = add(&identityKeys, Key{Name: "instance-id", Group: "Identity", Type: TypeString, Label: "Instance id",
		Description: "The instance id. A new id makes every per-instance step run again (new host key, user, script); the same id on a later boot runs only the per-boot steps. Unset: the Environment element's `oe:id`, else the SMBIOS system UUID (`/sys/class/dmi/id/product_uuid`)."})
	KeyAttempt = add(&identityKeys, Key{Name: "ovfinit.attempt", Group: "Identity", Type: TypeInt, Default: "1", Min: 1, Label: "Attempt",
		Description: "The manager's attempt number for this deployment (1, 2, ...), reported back in every event."})
	KeySeedFrom = add(&identityKeys, Key{Name: "seedfrom", Group: "Identity", Type: TypeString, Label: "Seed URL (cloud-init)",
		Description: "cloud-init's key naming a NoCloud seed to fetch more data from. Accepted so that templates written for cloud-init deploy unchanged, but ovfinit fetches nothing: it logs a warning naming the key and goes on with the properties in the environment."})
)

var hostKeys []Key

var (
	KeyHostname = add(&hostKeys, Key{Name: "hostname", Group: "Host name", Type: TypeString, Label: "Host name",
		Description: "The host name (cloud-init's key). Its first label becomes the live host name and /etc/hostname; /etc/hosts gets a 127.0.1.1 line with the full name and the short one."})
	KeyLocalHostname = add(&hostKeys, Key{Name: "local-hostname", Group: "Host name", Type: TypeString, Label: "Host name (cloud-init meta-data)",
		Description: "cloud-init's meta-data name for the host name, read as `hostname`. cloud-init's OVF datasource treats the two as one setting, so when both are set the one later in the environment wins (as in cloud-init) and a different earlier value is logged as a warning naming its key."})
)
