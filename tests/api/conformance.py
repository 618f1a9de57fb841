#!/usr/bin/env python3
"""Firecracker API conformance of a real ember, driven by Firecracker's swagger.

For every path + method in the swagger, send a request (a valid example body
where the operation takes one; path fields point at temp files) and check:
  - it is routed: the fault_message is never "Invalid request method and/or path";
  - success is 204 with no body for PUT/PATCH and 200 JSON for GET, and every
    200 body validates against the swagger's response schema;
  - every error body is JSON that validates against the swagger's Error schema
    and carries a non-empty fault_message.
It also checks that the methods the swagger does not list for a path are refused
as "Invalid request method and/or path".

Two phases: a fresh (pre-boot) ember, then, when /dev/kvm and the test guest
build/guest/console.elf are there, a running one (so post-boot routes answer
200). Schemas: Swagger 2.0 has no "nullable", and Firecracker serialises
Option::None as null (GET /vm/config has "balloon": null), so null is accepted
for optional properties. The YAML "Off" in Logger.level (parsed as false) is
read back as "Off".

Usage: tests/api/conformance.py [SWAGGER]   (default: $SWAGGER, then
tests/api/firecracker-swagger.yaml, then /work/shared/reference/...)
"""

import copy
import json
import os
import sys

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emberlib import ROOT, Conn, Ember, Report, ember_binary, has_api_sock  # noqa: E402

R = Report("conformance")
ROUTING = "Invalid request method and/or path"
PATH_IDS = {"drive_id": "drive1", "iface_id": "eth0", "id": "pmem1"}


def swagger_path():
    for p in (os.environ.get("SWAGGER"), sys.argv[1] if len(sys.argv) > 1 else None,
              os.path.join(ROOT, "tests", "api", "firecracker-swagger.yaml"),
              # the steering repo's shared/ sits beside every clone, CI's too
              os.path.join(ROOT, "..", "shared", "reference", "firecracker-swagger.yaml")):
        if p and os.path.exists(p):
            return p
    sys.exit("conformance: no swagger file (set SWAGGER=...)")


def nullable_optionals(node):
    """Swagger 2.0 + serde: an optional property may be null."""
    if isinstance(node, list):
        return [nullable_optionals(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: nullable_optionals(v) for k, v in node.items()}
    if "enum" in out:  # YAML 1.1 reads the bare Off as false
        out["enum"] = ["Off" if v is False else v for v in out["enum"]]
    props = out.get("properties")
    if isinstance(props, dict):
        req = set(out.get("required", []))
        for name, sub in props.items():
            if name not in req:
                props[name] = {"anyOf": [sub, {"type": "null"}]}
    return out


class Schemas:
    def __init__(self, spec):
        self.defs = nullable_optionals(copy.deepcopy(spec["definitions"]))
        self.strict_defs = spec["definitions"]

    def errors(self, schema, value, strict=False):
        full = dict(schema)
        full["definitions"] = self.strict_defs if strict else self.defs
        v = jsonschema.Draft4Validator(full)
        return ["%s: %s" % ("/".join(map(str, e.absolute_path)) or "(top)", e.message)
                for e in v.iter_errors(value)]


def temp_files(d):
    files = {}
    for name, size in (("kernel", 4096), ("initrd", 4096), ("rootfs", 1 << 20),
                       ("disk2", 1 << 20), ("pmem", 2 << 20)):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.truncate(size)
        files[name] = path
    for name in ("log", "metrics", "serial"):
        files[name] = os.path.join(d, name)
        open(files[name], "wb").close()
    return files


def examples(f, d):
    """A valid body per operation (the swagger has no examples of its own)."""
    tb = {"size": 1048576, "refill_time": 1000}
    return {
        ("PUT", "/actions"): {"action_type": "FlushMetrics"},
        ("PUT", "/balloon"): {"amount_mib": 0, "deflate_on_oom": False,
                              "stats_polling_interval_s": 1},
        ("PATCH", "/balloon"): {"amount_mib": 0},
        ("PATCH", "/balloon/statistics"): {"stats_polling_interval_s": 2},
        ("PATCH", "/balloon/hinting/start"): {"acknowledge_on_stop": True},
        ("PUT", "/boot-source"): {"kernel_image_path": f["kernel"], "initrd_path": f["initrd"],
                                  "boot_args": "console=ttyS0 reboot=k panic=1"},
        ("PUT", "/cpu-config"): {"kvm_capabilities": [], "cpuid_modifiers": [],
                                 "msr_modifiers": []},
        ("PUT", "/drives/{drive_id}"): {"drive_id": "drive1", "is_root_device": False,
                                        "path_on_host": f["rootfs"], "is_read_only": True,
                                        "cache_type": "Unsafe", "io_engine": "Sync"},
        ("PATCH", "/drives/{drive_id}"): {"drive_id": "drive1", "path_on_host": f["disk2"],
                                          "rate_limiter": {"bandwidth": tb}},
        ("PUT", "/pmem/{id}"): {"id": "pmem1", "path_on_host": f["pmem"], "read_only": True},
        ("PATCH", "/pmem/{id}"): {"id": "pmem1", "rate_limiter": {"ops": tb}},
        ("PUT", "/logger"): {"log_path": f["log"], "level": "Info", "show_level": True,
                             "show_log_origin": False},
        ("PUT", "/machine-config"): {"vcpu_count": 1, "mem_size_mib": 128, "smt": False,
                                     "track_dirty_pages": False, "huge_pages": "None"},
        ("PATCH", "/machine-config"): {"vcpu_count": 1, "mem_size_mib": 128},
        ("PUT", "/metrics"): {"metrics_path": f["metrics"]},
        ("PUT", "/mmds"): {"latest": {"meta-data": {"ami-id": "ami-12345678"}}},
        ("PATCH", "/mmds"): {"latest": {"meta-data": {"hostname": "ember"}}},
        ("PUT", "/mmds/config"): {"network_interfaces": ["eth0"], "version": "V2"},
        ("PUT", "/entropy"): {"rate_limiter": {"bandwidth": tb}},
        ("PUT", "/serial"): {"serial_out_path": f["serial"]},
        ("PUT", "/hotplug/memory"): {"total_size_mib": 1024, "slot_size_mib": 128,
                                     "block_size_mib": 2},
        ("PATCH", "/hotplug/memory"): {"requested_size_mib": 0},
        ("PUT", "/network-interfaces/{iface_id}"): {"iface_id": "eth0",
                                                    "host_dev_name": "embertap0",
                                                    "guest_mac": "06:00:ac:10:00:02"},
        ("PATCH", "/network-interfaces/{iface_id}"): {"iface_id": "eth0",
                                                      "rx_rate_limiter": {"ops": tb}},
        ("PUT", "/snapshot/create"): {"snapshot_path": os.path.join(d, "snap"),
                                      "mem_file_path": os.path.join(d, "mem"),
                                      "snapshot_type": "Full"},
        ("PUT", "/snapshot/load"): {"snapshot_path": os.path.join(d, "snap"),
                                    "mem_backend": {"backend_type": "File",
                                                    "backend_path": os.path.join(d, "mem")}},
        ("PATCH", "/vm"): {"state": "Paused"},
        ("PUT", "/vsock"): {"guest_cid": 3, "uds_path": os.path.join(d, "vsock.sock")},
    }


def operations(spec):
    """(METHOD, template, url, body schema or None, body required, responses)."""
    ops = []
    for tmpl, item in spec["paths"].items():
        for method, op in item.items():
            url = tmpl
            for k, v in PATH_IDS.items():
                url = url.replace("{%s}" % k, v)
            body = [p for p in op.get("parameters", []) if p.get("in") == "body"]
            ops.append((method.upper(), tmpl, url, body[0]["schema"] if body else None,
                        bool(body and body[0].get("required")), op.get("responses", {})))
    # A restore that fails may end the process (as in Firecracker): last.
    ops.sort(key=lambda o: o[1] == "/snapshot/load")
    return ops


def check_response(S, phase, op, resp):
    method, tmpl, url, _, _, responses = op
    name = "%s: %s %s" % (phase, method, url)
    fault = resp.fault()
    R.check(not (resp.status == 400 and fault.startswith(ROUTING)), name + " is routed",
            repr(resp))
    ctype = resp.headers.get("content-type", "")
    if resp.status >= 400:
        try:
            body = resp.json()
        except ValueError:
            R.check(False, name + " error body is JSON", repr(resp))
            return
        errs = S.errors({"$ref": "#/definitions/Error"}, body, strict=True)
        ok = not errs and isinstance(body.get("fault_message"), str) and \
            body["fault_message"] != "" and ctype == "application/json"
        R.check(ok, "%s -> %d, body matches Error (%s)" % (name, resp.status, fault[:90]),
                "; ".join(errs) or repr(resp))
    elif method == "GET":
        schema = (responses.get(200) or responses.get("200") or {}).get("schema")
        if resp.status != 200 or schema is None:
            R.check(False, name + " succeeds with a declared 200", repr(resp))
            return
        try:
            body = resp.json()
        except ValueError:
            R.check(False, name + " 200 body is JSON", repr(resp))
            return
        errs = S.errors(schema, body)
        ref = schema.get("$ref", "inline schema").split("/")[-1]
        R.check(not errs and ctype == "application/json",
                "%s -> 200, body matches %s" % (name, ref), "; ".join(errs[:5]) + repr(resp))
    else:
        R.check(resp.status == 204 and resp.body == b"" and 204 in responses,
                "%s -> 204 with no body" % name, repr(resp))


def run_ops(S, spec, phase, sock, ex):
    c = Conn(sock)
    for op in operations(spec):
        method, tmpl, url, schema, required, _ = op
        body = ex.get((method, tmpl))
        if schema is not None and body is not None:
            errs = S.errors(schema, body, strict=True)
            if errs:
                R.check(False, "%s: example body for %s %s matches the swagger" %
                        (phase, method, tmpl), "; ".join(errs))
        if schema is not None and body is None and required:
            R.check(False, "%s: an example body for %s %s" % (phase, method, tmpl))
            continue
        try:
            resp = c.request(method, url, json.dumps(body) if body is not None else None)
        except (OSError, ConnectionError) as e:
            R.check(False, "%s: %s %s answered" % (phase, method, url), str(e))
            c.close()
            c = Conn(sock)
            continue
        check_response(S, phase, op, resp)
    c.close()


def check_unlisted_methods(spec, sock):
    c = Conn(sock)
    for tmpl, item in spec["paths"].items():
        url = tmpl
        for k, v in PATH_IDS.items():
            url = url.replace("{%s}" % k, v)
        for m in ("GET", "PUT", "PATCH"):
            if m.lower() in item:
                continue
            resp = c.request(m, url, None if m == "GET" else "{}")
            want = "%s: %s %s." % (ROUTING, m, url)
            R.check(resp.status == 400 and resp.fault() == want,
                    "%s %s (not in the swagger) is refused as an invalid path" % (m, url),
                    repr(resp))
    c.close()


def boot(sock, d):
    """Start the console test guest (idle mode); None, or why not."""
    guest = os.path.join(ROOT, "build", "guest", "console.elf")
    if not os.path.exists(guest):
        return "no %s (make guests)" % guest
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "no usable /dev/kvm"
    c = Conn(sock)
    try:
        for method, url, body in (
                ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}),
                ("PUT", "/boot-source", {"kernel_image_path": guest,
                                         "boot_args": "console=ttyS0 mode=idle"}),
                ("PUT", "/actions", {"action_type": "InstanceStart"})):
            r = c.request(method, url, json.dumps(body))
            if url == "/actions" and r.status != 204:
                return "InstanceStart failed: %r" % r
        state = c.request("GET", "/").json().get("state")
        return None if state == "Running" else "state is %r after InstanceStart" % state
    finally:
        c.close()


def main():
    if not has_api_sock():
        print("conformance: 0 passed, 0 failed (skipped: %s has no --api-sock)"
              % ember_binary())
        return 0
    with open(swagger_path()) as f:
        spec = yaml.safe_load(f)
    S = Schemas(spec)

    e = Ember().start()
    try:
        ex = examples(temp_files(e.dir), e.dir)
        run_ops(S, spec, "pre-boot", e.sock, ex)
        check_unlisted_methods(spec, e.sock)
    finally:
        e.stop()

    e = Ember().start()
    try:
        why = boot(e.sock, e.dir)
        if why:
            R.skip("running phase", why)
        else:
            R.check(True, "running phase: console guest booted")
            run_ops(S, spec, "running", e.sock, examples(temp_files(e.dir), e.dir))
    finally:
        e.stop()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
