#!/usr/bin/env bash
# Makes the B2BUA's default English prompt set from text: every line
# "name<TAB>text" of b2bua/prompts/en/prompts.txt becomes
# b2bua/prompts/en/NAME.wav, spoken by espeak-ng and converted by sox to
# 8 kHz mono 16-bit PCM (G.711-ready: the B2BUA encodes it to PCMU/PCMA
# without resampling). A text starting with "[tone]" gets a 1 kHz beep
# (0.3 s) after it. The WAVs are committed, so this only runs when the
# texts change; b2bua's TestPromptSetMatchesList checks the set matches.
# Naming prompts after DIR remakes only those: espeak-ng's output differs
# byte-wise between versions, so remaking the whole set churns every WAV.
#
#   scripts/prompts.sh [DIR [NAME...]]     (default b2bua/prompts/en, all)
set -euo pipefail

dir=${1:-"$(dirname "$0")/../b2bua/prompts/en"}
only=("${@:2}")
list="$dir/prompts.txt"
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null 2>&1 || { echo "prompts.sh: $tool is missing (Debian: apt-get install $tool)" >&2; exit 1; }
done
[ -f "$list" ] || { echo "prompts.sh: no list $list" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
while IFS=$'\t' read -r name text; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then continue; fi
  [ -n "$text" ] || { echo "prompts.sh: $list: $name has no text" >&2; exit 1; }
  tone=0
  if [[ "$text" == "[tone] "* ]]; then tone=1; text=${text#"[tone] "}; fi
  # -s 170 words a minute, en-us voice; espeak-ng writes 22050 Hz.
  espeak-ng -v en-us -s 170 -w "$tmp/raw.wav" "$text"
  # Trim leading and trailing silence, leave 0.15 s of air at the end,
  # normalise to -3 dBFS, and resample to 8 kHz mono 16-bit.
  sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/speech.wav" \
    silence 1 0.02 1% reverse silence 1 0.02 1% reverse pad 0 0.15 gain -n -3
  if [ "$tone" = 1 ]; then
    sox -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/tone.wav" synth 0.3 sine 1000 gain -6
    sox "$tmp/speech.wav" "$tmp/tone.wav" "$dir/$name.wav"
  else
    cp "$tmp/speech.wav" "$dir/$name.wav"
  fi
  n=$((n + 1))
done < "$list"
[ ${#only[@]} -eq 0 ] || [ "$n" -eq ${#only[@]} ] || { echo "prompts.sh: made $n of ${#only[@]} named prompts: a name is not in $list" >&2; exit 1; }
echo "prompts.sh: wrote $n prompts to $dir" >&2
