"""Test oracle: pydicom's decoding of every text element of the DICOM files given as arguments.

Prints one JSON object: {file: [[path, tag, vr, text], ...]} where path names the sequence items
("(0008,1115)[0]/"), tag is "GGGGEEEE" and text is the decoded value with multiple values joined by "\\"
(person names in their full "alphabetic=ideographic=phonetic" form). Private elements are skipped.
"""
import json
import sys

import pydicom

TEXT_VRS = {"SH", "LO", "ST", "LT", "PN", "UC", "UT"}


def walk(ds, prefix, out):
    for elem in ds:
        if elem.tag.is_private:
            continue
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                walk(item, f"{prefix}{elem.tag.group:04X}{elem.tag.element:04X}[{i}]/", out)
            continue
        if elem.VR not in TEXT_VRS or elem.value is None:
            continue
        values = elem.value if isinstance(elem.value, pydicom.multival.MultiValue) else [elem.value]
        text = "\\".join(str(v) for v in values)
        out.append([prefix, f"{elem.tag.group:04X}{elem.tag.element:04X}", elem.VR, text])


result = {}
for path in sys.argv[1:]:
    ds = pydicom.dcmread(path, force=True)
    out = []
    walk(ds, "", out)
    result[path] = out
print(json.dumps(result, ensure_ascii=False))
