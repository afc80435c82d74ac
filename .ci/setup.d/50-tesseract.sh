# De-identification oracles and corpus tools (issue 15), all from Debian: Tesseract OCR checks that redacted
# pixels carry no planted text; python3-pydicom decodes character sets independently of our code; python3-pil
# with the DejaVu fonts renders the synthetic burned-in-text corpus. Sourced by .ci/run.
apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng python3-pydicom python3-pil \
  fonts-dejavu-core fonts-dejavu-extra util-linux time >/dev/null
export MEDMLOPS_TESSERACT=/usr/bin/tesseract
export MEDMLOPS_PYDICOM_PYTHON=/usr/bin/python3
tesseract --version 2>&1 | head -1
