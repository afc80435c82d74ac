# De-identification oracles (issue 15), both from Debian: Tesseract OCR checks that redacted pixels carry no
# planted text; python3-pydicom decodes character sets independently of our code. Sourced by .ci/run.
apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng python3-pydicom >/dev/null
export MEDMLOPS_TESSERACT=/usr/bin/tesseract
export MEDMLOPS_PYDICOM_PYTHON=/usr/bin/python3
tesseract --version 2>&1 | head -1
