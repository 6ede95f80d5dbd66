// Whether systemd is PID 1 (so systemctl start/reload/restart work; in a container it may only pretend).
import { defineFact, keyValues } from '../fact.js';

export interface SystemdFacts {
  systemd: boolean;
}

export default defineFact<SystemdFacts>({
  sections: {
    systemd: `printf 'run_systemd_system=%s\\n' "$(yn test -d "$r/run/systemd/system")"\nprintf 'pid1_comm=%s\\n' "$(cat /proc/1/comm 2>/dev/null)"`,
  },
  parse: (s) => {
    const v = keyValues(s.get('systemd'));
    return { systemd: v.run_systemd_system === 'yes' && (v.pid1_comm === undefined || v.pid1_comm === '' || v.pid1_comm === 'systemd') };
  },
  placeholder: { systemd: true },
  fixtures: { fedora36: { systemd: true }, debian11: { systemd: true }, ubuntu2204: { systemd: true } },
});
