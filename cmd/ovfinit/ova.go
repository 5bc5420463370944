package main

import (
	"fmt"

	"github.com/ovfinit/ovfinit/manager/ova"
	"github.com/spf13/cobra"
)

func newOVACmd() *cobra.Command {
	o := ova.Options{CPUs: 2, MemoryMiB: 2048}
	var out string
	var defaults []string
	cmd := &cobra.Command{
		Use:   "ova --disk DISK --name NAME -o NAME.ova",
		Short: "Make an OVF appliance (.ova) from a disk image with ovfinit installed",
		Long: `Ova turns a disk image with ovfinit baked in into an OVF 1.x appliance for
vSphere, VirtualBox and other OVF importers. The .ova holds, in this order:

  NAME.ovf         the descriptor: a ProductSection declaring every property
                   ovfinit reads (as "ovfinit env descriptor" prints it), and a
                   VirtualHardwareSection asking for the "iso" and
                   "com.vmware.guestInfo" transports, with a CD-ROM for the first
  NAME.mf          SHA256 of the other files
  NAME-disk1.vmdk  the disk as a streamOptimized VMDK (converted with qemu-img,
                   from Debian's qemu-utils)

--prop-default KEY=VALUE sets a property's default in the descriptor
(repeatable); the key must be one ovfinit reads and the value of its type.

Exit status: 0 written; 1 the conversion or writing failed; 2 bad flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parsePropDefaults(defaults)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			o.Defaults, o.Version = d, version
			if out == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("-o: required (the .ova to write)")}
			}
			if err := o.Validate(); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if err := ova.Write(cmd.Context(), o, out); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "wrote", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Disk, "disk", "", "the boot disk image (raw, qcow2, vmdk... anything qemu-img reads)")
	f.StringVar(&o.Name, "name", "", "the appliance's name (letters, digits, '.', '_', '-'); also the file names inside")
	f.IntVar(&o.CPUs, "cpus", o.CPUs, "virtual CPUs")
	f.IntVar(&o.MemoryMiB, "memory", o.MemoryMiB, "memory in MiB")
	f.StringArrayVar(&defaults, "prop-default", nil, "KEY=VALUE: the default of property KEY in the descriptor (repeatable)")
	f.StringVarP(&out, "output", "o", "", "the .ova file to write")
	return cmd
}
