// Facts: what the runner knows about a host after one round trip (see gather.ts).

export type OsFamily = 'debian' | 'redhat';

export interface Facts {
  hostname: string;
  /** os-release ID: debian, ubuntu, fedora. */
  os_id: string;
  /** os-release VERSION_ID: "11", "12", "22.04", "36". */
  os_version: string;
  os_codename: string;
  os_pretty: string;
  os_family: OsFamily;
  pkg_mgr: 'apt' | 'dnf';
  /** User the nginx workers run as (nginx.conf `user`, else the distro default). */
  nginx_user: string;
  nginx_group: string;
  /** 'sites' = sites-available + sites-enabled (Debian/Ubuntu); 'confd' = conf.d only (Fedora). */
  nginx_layout: 'sites' | 'confd';
  nginx_installed: boolean;
  /** systemd is PID 1 (so systemctl start/reload/restart work). */
  systemd: boolean;
  /** Remote user after become (0 = root). */
  uid: number;
  /** IPv4/IPv6 addresses of the host's interfaces (without loopback and link-local). */
  addresses: string[];
  /** Nameservers from /etc/resolv.conf (the default resolver for nginx's proxy_pass by name). */
  nameservers: string[];
  /** Oddities that do not stop the run (e.g. the package manager is missing). */
  warnings?: string[];
}
