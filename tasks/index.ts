// The task library: module name -> task. A playbook task uses one of these keys.
import type { TaskDef } from '../src/task.js';
import command from './command.js';
import copy from './copy.js';
import file from './file.js';
import nginxValidate from './nginx_validate.js';
import pkg from './package.js';
import service from './service.js';
import systemdDropin from './systemd_dropin.js';
import template from './template.js';
import certbot from './certbot.js';
import certbotCopy from './certbot_copy.js';
import misskeyConfig from './misskey_config.js';
import misskeyFilesCopy from './misskey_files_copy.js';
import misskeyMeta from './misskey_meta.js';
import misskeyRestart from './misskey_restart.js';
import misskeySmoke from './misskey_smoke.js';
import nginxBlock from './nginx_block.js';
import proxyLayout from './proxy_layout.js';
import s3Bucket from './s3_bucket.js';
import s3Policy from './s3_policy.js';
import s3Copy from './s3_copy.js';
import s3MoveCheck from './s3_move_check.js';
import s3Smoke from './s3_smoke.js';
import s3Verify from './s3_verify.js';
import s3Mirror from './s3_mirror.js';
import s3MirrorVerify from './s3_mirror_verify.js';
import nginxMirrorTypes from './nginx_mirror_types.js';
import fail from './fail.js';
import s3cmdConfig from './s3cmd_config.js';
import selinuxBoolean from './selinux_boolean.js';
import selinuxLabel from './selinux_label.js';
import firewalldService from './firewalld_service.js';

export const TASKS: Record<string, TaskDef> = Object.fromEntries(
  [
    command,
    copy,
    file,
    nginxValidate,
    pkg,
    service,
    systemdDropin,
    template,
    certbot,
    certbotCopy,
    misskeyConfig,
    misskeyFilesCopy,
    misskeyMeta,
    misskeyRestart,
    misskeySmoke,
    nginxBlock,
    proxyLayout,
    s3Bucket,
    s3Policy,
    s3Copy,
    s3Mirror,
    s3MirrorVerify,
    nginxMirrorTypes,
    fail,
    s3MoveCheck,
    s3Smoke,
    s3Verify,
    s3cmdConfig,
    selinuxBoolean,
    selinuxLabel,
    firewalldService,
  ].map((t) => [t.name, t as TaskDef]),
);
