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

export const TASKS: Record<string, TaskDef> = Object.fromEntries(
  [command, copy, file, nginxValidate, pkg, service, systemdDropin, template].map((t) => [t.name, t as TaskDef]),
);
