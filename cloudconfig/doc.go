// Package cloudconfig reads what cloud-init would have read, so that an
// environment and an image written for cloud-init work unchanged: the
// image's default user (cloud-init's system_info.default_user in
// /etc/cloud/cloud.cfg, else the distribution's convention), and
// `#cloud-config` user-data, parsed strictly with the line of every key.
//
// Parse checks a document and returns every problem at once, each with its
// line; a module ovfinit does not apply is refused there, never dropped.
// The appliers (WriteFiles, RunCommands, PackageCommands, PostPhoneHome)
// touch the machine only through a rooted file system and internal/cmdrun's
// Runner, so tests run them against a temporary tree and a recording fake.
// docs/cloud-config.md lists each module as applied or refused.
package cloudconfig
