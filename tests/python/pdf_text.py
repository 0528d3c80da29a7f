"""Reads a PDF, or an email whose attachments include PDFs, from stdin and prints, as JSON, each PDF's file
name, its text as pypdf extracts it, and its fonts with whether each is embedded. A reader that is not
Learnlog's, to check what a trainee receives."""

import email
import io
import json
import sys
from email import policy

from pypdf import PdfReader


def fonts_of(reader):
    found = {}
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts") or [font]
            for described in descendants:
                described = described.get_object()
                descriptor = (described.get("/FontDescriptor") or {})
                descriptor = descriptor.get_object() if descriptor else {}
                embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
                found[str(font.get("/BaseFont"))] = embedded
    return found


def main():
    data = sys.stdin.buffer.read()
    if data.startswith(b"%PDF"):
        pdfs = [(None, data)]
    else:
        message = email.message_from_bytes(data, policy=policy.default)
        pdfs = [
            (part.get_filename(), part.get_payload(decode=True))
            for part in message.walk()
            if part.get_content_type() == "application/pdf"
        ]
    out = []
    for name, pdf in pdfs:
        reader = PdfReader(io.BytesIO(pdf))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        out.append({"filename": name, "pages": len(reader.pages), "text": text, "fonts": fonts_of(reader)})
    json.dump(out, sys.stdout, ensure_ascii=False)


main()
