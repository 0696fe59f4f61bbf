"""Copies the Kubernetes API schemas of kubernetes-validate into a folder kubeconform can read.

kubernetes-validate ships <version>-local[-strict]/<kind>-<group>-<version>.json, the layout
kubeconform's -schema-location templates expect, but each schema has an $id on kubernetes.io and
refers to its definitions as /api/_definitions.json, which kubeconform resolves against that $id,
over the network. Here the $ids go and the references become relative to the file, so everything
resolves offline. Only the newest version's strict folder is copied (what the tests validate
against).

    python3 deploy-tools-k8s-schemas.py <kubernetes-json-schema folder> <destination>
"""
import json
import os
import re
import sys


def version_key(name):
    return tuple(int(part) for part in re.match(r"v(\d+)\.(\d+)\.(\d+)", name).groups())


def offline(node):
    if isinstance(node, dict):
        node.pop("$id", None)
        return {
            key: value.replace("/api/_definitions.json#", "_definitions.json#") if key == "$ref" and isinstance(value, str) else offline(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [offline(value) for value in node]
    return node


def main(source, destination):
    strict = [name for name in os.listdir(source) if re.fullmatch(r"v\d+\.\d+\.\d+-local-strict", name)]
    if not strict:
        sys.exit(f"no <version>-local-strict folder in {source}")
    newest = max(strict, key=version_key)
    target = os.path.join(destination, newest)
    os.makedirs(target)
    for name in os.listdir(os.path.join(source, newest)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(source, newest, name)) as f:
            schema = json.load(f)
        with open(os.path.join(target, name), "w") as f:
            json.dump(offline(schema), f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
