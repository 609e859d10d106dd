#!/usr/bin/env bash
# Installs real Fashion-MNIST from Debian's dataset-fashion-mnist package when it is
# missing. Needs root or sudo; otherwise says how to point fmnist-edge at the files.
set -euo pipefail
dir=/usr/share/datasets/fashion-mnist
if [ -f "$dir/train-images-idx3-ubyte.gz" ] || [ -n "${FMNIST_EDGE_DATA:-}" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "Fashion-MNIST is not installed and this user cannot install packages." >&2
  echo "Either run: sudo apt-get install dataset-fashion-mnist" >&2
  echo "or put the four IDX .gz files (or the Kaggle CSVs, or an .npz) in a folder and set FMNIST_EDGE_DATA=that/folder." >&2
  exit 2
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "No apt-get here: put the Fashion-MNIST IDX .gz files in a folder and set FMNIST_EDGE_DATA=that/folder." >&2
  exit 2
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq dataset-fashion-mnist
