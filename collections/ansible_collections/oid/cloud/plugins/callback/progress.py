# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: progress
type: stdout
short_description: One line per task with the time since the start, failures in full
description:
  - A quiet stdout callback for long runs such as C(oid lab up) and C(site.yml)
    on many DCs. It prints one line when a task starts, with the seconds since
    the playbook started, the hosts that changed when it ends, and every failure
    with its message and the tail of its output.
author: oid developers (@oid-cloud)
"""

import time

from ansible.plugins.callback import CallbackBase

TAIL_LINES = 20


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "oid.cloud.progress"

    def __init__(self):
        super().__init__()
        self.started = time.monotonic()
        self.changed_hosts = []

    def elapsed(self):
        return "%6.1fs" % (time.monotonic() - self.started)

    def flush_changed(self):
        if self.changed_hosts:
            self._display.display("%s   changed: %s" % (" " * 7, ", ".join(sorted(set(self.changed_hosts)))))
            self.changed_hosts = []

    def v2_playbook_on_play_start(self, play):
        self.flush_changed()
        self._display.display("%s == %s" % (self.elapsed(), play.get_name().strip()))

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.flush_changed()
        self._display.display("%s    %s" % (self.elapsed(), task.get_name().strip()))

    def v2_runner_on_ok(self, result):
        if result._result.get("changed"):
            self.changed_hosts.append(result._host.get_name())

    def v2_runner_item_on_ok(self, result):
        self.v2_runner_on_ok(result)

    def report(self, result, what):
        values = result._result
        lines = ["%s    %s on %s: %s" % (self.elapsed(), what, result._host.get_name(), values.get("msg", ""))]
        for key in ("stderr", "stdout"):
            text = values.get(key) or ""
            if text:
                lines.extend("        " + line for line in text.splitlines()[-TAIL_LINES:])
        self._display.display("\n".join(lines), stderr=True)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self.report(result, "FAILED")

    def v2_runner_item_on_failed(self, result):
        self.report(result, "FAILED (item %s)" % self._get_item_label(result._result))

    def v2_runner_on_unreachable(self, result):
        self.report(result, "UNREACHABLE")

    def v2_playbook_on_stats(self, stats):
        self.flush_changed()
        failed = [
            host
            for host in sorted(stats.processed)
            if stats.summarize(host)["failures"] or stats.summarize(host)["unreachable"]
        ]
        self._display.display("%s == %s" % (self.elapsed(), "failed on " + ", ".join(failed) if failed else "done"))
