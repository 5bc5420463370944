package users

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// pidsOfUID lists the processes under procDir (a Linux /proc) whose real,
// effective or saved uid is uid.
func pidsOfUID(procDir string, uid int) ([]int, error) {
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return nil, err
	}
	want := strconv.Itoa(uid)
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(procDir, e.Name(), "status"))
		if err != nil {
			continue // it exited meanwhile
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 4 && f[0] == "Uid:" {
				if f[1] == want || f[2] == want || f[3] == want {
					pids = append(pids, pid)
				}
				break
			}
		}
	}
	return pids, nil
}

// killUID kills every process of uid found under procDir with signal,
// rounds times at most (a process may fork while we look), and fails if
// some are left.
func killUID(procDir string, uid int, signal func(pid int) error, rounds int) error {
	if uid == 0 {
		return errors.New("refusing to kill the processes of uid 0")
	}
	for range rounds {
		pids, err := pidsOfUID(procDir, uid)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		for _, p := range pids {
			if err := signal(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !isNoProcess(err) {
				return fmt.Errorf("pid %d: %w", p, err)
			}
		}
	}
	pids, _ := pidsOfUID(procDir, uid)
	if len(pids) > 0 {
		return fmt.Errorf("processes %v of uid %d are still running", pids, uid)
	}
	return nil
}
