#!/usr/bin/env python3
"""Golden data for model/glip's post-processing tests.

How this was made: written by hand, in pure Python 3 (no numpy, no torch),
straight from the behaviour of GLIP's reference code -- predictor_glip.py
(create_positive_map), maskrcnn_benchmark/modeling/rpn/inference.py
(ATSSPostProcessor, convert_grounding_to_od_logits, select_over_all_levels),
structures/bounding_box.py (clip_to_image, resize), boxlist_ops.py
(remove_small_boxes, boxlist_ml_nms), csrc/cuda/ml_nms.cu (IoU with +1) --
and of Grounding DINO's groundingdino/util/inference.py (predict) and
util/utils.py (get_phrases_from_posmap), with Hugging Face's WordPiece
decode. It shares no code with the Go implementation and was not derived
from it. Inputs are random but seeded; every input float is rounded to
float32 so that Go reads exactly the same numbers. Cases whose results sit
within a hair of a threshold or a tie (where float32 and float64 could
disagree) are rejected and the next seed is tried; the seed used is written
out.

Run from this folder:  python3 make_golden.py  (writes golden.json)
"""

import json
import math
import random
import struct

F32 = lambda x: struct.unpack("f", struct.pack("f", x))[0]


class Near(Exception):
    """A value too close to a threshold or a tie: try another seed."""


def margin(a, b, eps, what):
    if abs(a - b) < eps:
        raise Near(what)


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# ---------------------------------------------------------------- tokens

SPECIAL = ("[CLS]", "[SEP]")


def offsets_of(text, pieces):
    """Code-point offsets of pieces in text (specials get (0, 0))."""
    out, at = [], 0
    for p in pieces:
        if p in SPECIAL:
            out.append((0, 0))
            continue
        body = p[2:] if p.startswith("##") else p
        if not p.startswith("##"):
            while text[at] == " ":
                at += 1
        assert text[at:at + len(body)].lower() == body, (text, at, p)
        out.append((at, at + len(body)))
        at += len(body)
    return out


def char_to_token(offsets, c):
    for i, (s, e) in enumerate(offsets):
        if s <= c < e:
            return i
    return None


def positive_map(phrases, offsets):
    """GLIP's create_positive_map: token lists per phrase (None: skipped)."""
    out = []
    for ph in phrases:
        beg, end = ph["start"], ph["end"]
        b = char_to_token(offsets, beg)
        if b is None:
            b = char_to_token(offsets, beg + 1)
            if b is None:
                b = char_to_token(offsets, beg + 2)
        e = char_to_token(offsets, end - 1)
        if e is None:
            e = char_to_token(offsets, end - 2)
            if e is None:
                e = char_to_token(offsets, end - 3)
        if b is None or e is None or e < b:
            out.append([])
        else:
            out.append(list(range(b, e + 1)))
    return out


def hf_decode(pieces):
    """BertTokenizerFast.decode: WordPiece decoder + clean_up_tokenization."""
    toks = []
    for i, p in enumerate(pieces):
        if i != 0:
            p = p[2:] if p.startswith("##") else " " + p
        for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ",")):
            p = p.replace(a, b)
        toks.append(p)
    s = "".join(toks)
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                 (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        s = s.replace(a, b)
    return s


# ---------------------------------------------------------------- boxes

def to_pixels(b, fmt, rw, rh):
    if fmt == "xyxy_pixels":
        return list(b)
    cx, cy, w, h = b
    return [(cx - w / 2) * rw, (cy - h / 2) * rh, (cx + w / 2) * rw, (cy + h / 2) * rh]


def iou(a, b, legacy):
    one = 1.0 if legacy else 0.0
    w = max(min(a[2], b[2]) - max(a[0], b[0]) + one, 0.0)
    h = max(min(a[3], b[3]) - max(a[1], b[1]) + one, 0.0)
    inter = w * h
    sa = (a[2] - a[0] + one) * (a[3] - a[1] + one)
    sb = (b[2] - b[0] + one) * (b[3] - b[1] + one)
    union = sa + sb - inter
    if not legacy and (w <= 0 or h <= 0 or union <= 0):
        return 0.0
    return inter / union


# ---------------------------------------------------------------- scoring

def score_prompt(pi, prompt, P, geo):
    """One prompt's candidates: dicts with box (resized pixels), score, rank, class."""
    out = prompt["output"]
    Q, T = out["queries"], out["tokens"]
    n = len(prompt["offsets"])
    rw, rh = geo["resized_w"], geo["resized_h"]
    raw = out["sigmoid"]
    prob = (lambda v: sigmoid(v)) if raw else (lambda v: v)
    cands = []
    phrases = prompt["phrases"]
    ptoks = positive_map(phrases, prompt["offsets"])
    prompt["phrase_tokens"] = ptoks
    vocab = len(phrases) > 0 and phrases[0]["label"] >= 0
    if P["Scoring"] == "tokens":
        tok_phrase = [-1] * n
        for j, toks in enumerate(ptoks):
            for t in toks:
                if tok_phrase[t] < 0:
                    tok_phrase[t] = j
        for q in range(Q):
            row = [prob(out["logits"][q * T + t]) for t in range(n)]
            best_p = max(row)
            margin(best_p, P["BoxThreshold"], 1e-5, "box threshold")
            if not best_p > P["BoxThreshold"]:
                continue
            sel = []
            for t in range(1, min(n, 255)):
                margin(row[t], P["TextThreshold"], 1e-5, "text threshold")
                if row[t] > P["TextThreshold"]:
                    sel.append(t)
            d = {"query": q, "score": best_p, "phrase": -1, "label": -1}
            best = None
            for t in sel:
                if tok_phrase[t] >= 0 and (best is None or row[t] > row[best]):
                    best = t
            if best is not None:
                d["phrase"] = tok_phrase[best]
            if vocab:
                if best is None:
                    continue
                ph = phrases[d["phrase"]]
                d.update(label=ph["label"], text=ph["text"], start=ph["start"], end=ph["end"])
                d["class"] = ("label", ph["label"])
            else:
                chosen = [t for t in sel if prompt["offsets"][t][1] > prompt["offsets"][t][0]]
                spans = [prompt["offsets"][t] for t in chosen if prompt["pieces"][t] != "."]
                if not spans:
                    continue
                text = hf_decode([prompt["pieces"][t] for t in chosen]).replace(".", "").strip()
                if text == "":
                    continue
                d.update(text=text, start=spans[0][0], end=spans[-1][1])
                d["class"] = ("text", text)
            d["rank"] = best_p
            cands.append(d)
    else:
        ctr_all = out.get("centerness")
        for q in range(Q):
            ctr = prob(ctr_all[q]) if ctr_all is not None else 1.0
            for j, toks in enumerate(ptoks):
                if not toks:
                    continue
                ps = [prob(out["logits"][q * T + t]) for t in toks]
                cls = sum(ps) / len(ps) if P["Aggregate"] == "mean" else max(ps)
                margin(cls, P["PreThreshold"], 1e-5, "pre-threshold")
                if not cls > P["PreThreshold"]:
                    continue
                rank = cls * ctr
                score = math.sqrt(rank) if ctr_all is not None else cls
                ph = phrases[j]
                d = {"query": q, "phrase": j, "label": ph["label"], "text": ph["text"],
                     "start": ph["start"], "end": ph["end"], "rank": rank, "score": score}
                d["class"] = ("label", ph["label"]) if ph["label"] >= 0 else ("phrase", pi, j)
                cands.append(d)
    # pre-NMS top-N, per level when levels are given
    cands.sort(key=lambda d: (-d["rank"], d["query"], d["phrase"]))
    levels = out.get("levels") or [Q]
    starts = [sum(levels[:i]) for i in range(len(levels))]
    level_of = lambda q: max(i for i, s in enumerate(starts) if q >= s)
    topn = P["PreTopN"]
    kept, count = [], {}
    for d in cands:
        lv = level_of(d["query"])
        if topn > 0 and count.get(lv, 0) >= topn:
            if count[lv] == topn:
                # the first one left out must not tie the last one kept
                last = [k for k in kept if level_of(k["query"]) == lv][-1]
                margin(last["rank"], d["rank"], 1e-6, "pre-top-n tie")
                count[lv] += 1
            continue
        count[lv] = count.get(lv, 0) + 1
        kept.append(d)
    result = []
    for d in kept:
        q = d["query"]
        b = to_pixels(out["boxes"][q * 4:q * 4 + 4], out["format"], rw, rh)
        if P["LegacyPixels"]:
            b = [min(max(b[0], 0.0), rw - 1), min(max(b[1], 0.0), rh - 1),
                 min(max(b[2], 0.0), rw - 1), min(max(b[3], 0.0), rh - 1)]
            if not (b[2] - b[0] + 1 >= 0 and b[3] - b[1] + 1 >= 0):
                continue
        d["box"] = b
        d["prompt"] = pi
        result.append(d)
    return result


def merge(all_cands, P, geo, names, plus_one=None):
    if plus_one is None:
        plus_one = P["LegacyPixels"]
    all_cands = list(all_cands)
    all_cands.sort(key=lambda d: (-d["score"], d["prompt"], d["query"], d["phrase"]))
    if P["NMSIoU"] > 0:
        kept = []
        for d in all_cands:
            ok = True
            for k in kept:
                if k["class"] == d["class"]:
                    v = iou(k["box"], d["box"], plus_one)
                    margin(v, P["NMSIoU"], 1e-4, "nms iou")
                    if v > P["NMSIoU"]:
                        ok = False
                        break
            if ok:
                kept.append(d)
        all_cands = kept
    k = P["TopKLargeVocab"] if names > 1000 and P["TopKLargeVocab"] > 0 else P["TopK"]
    if k > 0 and len(all_cands) > k:
        kth = all_cands[k - 1]["score"]
        margin(all_cands[k]["score"], kth, 1e-6, "top-k tie")
        all_cands = [d for d in all_cands if d["score"] >= kth]
    sx = geo["orig_w"] / geo["resized_w"]
    sy = geo["orig_h"] / geo["resized_h"]
    out = []
    for d in all_cands:
        b = d["box"]
        b = [min(max(b[0] * sx, 0.0), geo["orig_w"]), min(max(b[1] * sy, 0.0), geo["orig_h"]),
             min(max(b[2] * sx, 0.0), geo["orig_w"]), min(max(b[3] * sy, 0.0), geo["orig_h"])]
        margin(d["score"], P["ScoreThreshold"], 1e-5, "score threshold")
        if not (d["score"] > P["ScoreThreshold"] and b[2] > b[0] and b[3] > b[1]):
            continue
        out.append({"box": b, "score": d["score"], "prompt": d["prompt"], "query": d["query"],
                    "phrase": d["phrase"], "label": d["label"], "text": d["text"],
                    "start": d["start"], "end": d["end"]})
    return out


# ---------------------------------------------------------------- cases

# The JSON names of glip.Params' fields (its json tags).
JSON_NAMES = {"Scoring": "scoring", "Aggregate": "aggregate", "PreThreshold": "pre_threshold",
              "PreTopN": "pre_top_n", "BoxThreshold": "box_threshold", "TextThreshold": "text_threshold",
              "NMSIoU": "nms_iou", "TopK": "top_k", "TopKLargeVocab": "top_k_large_vocab",
              "ScoreThreshold": "score_threshold", "LegacyPixels": "legacy_pixels"}


def json_params(P):
    return {JSON_NAMES[k]: v for k, v in P.items()}


def glip_params(**kw):
    p = {"Scoring": "phrases", "Aggregate": "mean", "PreThreshold": 0.05, "PreTopN": 1000,
         "BoxThreshold": 0.0, "TextThreshold": 0.0, "NMSIoU": 0.6, "TopK": 100,
         "TopKLargeVocab": 300, "ScoreThreshold": 0.3, "LegacyPixels": True}
    p.update(kw)
    return p


def random_output(rng, Q, T, n, fmt, rw, rh, centerness, hot, levels=None):
    """Logits mostly low; a few (query, token) pairs high. Boxes in clusters."""
    logits = []
    for q in range(Q):
        for t in range(T):
            v = rng.gauss(-5.0, 1.5)
            if t < n and rng.random() < hot:
                v = rng.gauss(1.0, 1.5)
            if t >= n:
                v = -10000.0
            logits.append(F32(v))
    centers = [(rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)) for _ in range(4)]
    boxes = []
    for q in range(Q):
        cx, cy = centers[q % len(centers)]
        cx += rng.gauss(0, 0.02)
        cy += rng.gauss(0, 0.02)
        w, h = rng.uniform(0.1, 0.5), rng.uniform(0.1, 0.5)
        if q % 7 == 3:  # off the image, to exercise clipping
            cx = rng.choice([0.0, 1.0])
        if q % 5 == 1:  # a few pixels wide, where maskrcnn-benchmark's +1 matters
            cx, cy = centers[0][0] + rng.gauss(0, 0.7 / rw), centers[0][1] + rng.gauss(0, 0.7 / rh)
            w, h = rng.uniform(2, 5) / rw, rng.uniform(2, 5) / rh
        if fmt == "cxcywh_norm":
            boxes += [F32(cx), F32(cy), F32(w), F32(h)]
        else:
            boxes += [F32((cx - w / 2) * rw), F32((cy - h / 2) * rh), F32((cx + w / 2) * rw), F32((cy + h / 2) * rh)]
    out = {"queries": Q, "tokens": T, "sigmoid": True, "format": fmt, "boxes": boxes, "logits": logits}
    if centerness:
        out["centerness"] = [F32(rng.gauss(0.0, 1.5)) for _ in range(Q)]
    if levels:
        out["levels"] = levels
    return out


def caption_prompt(text, pieces, phrase_texts):
    offsets = offsets_of(text, pieces)
    phrases, at = [], 0
    for pt in phrase_texts:
        s = text.index(pt, at)
        phrases.append({"text": pt, "start": s, "end": s + len(pt), "label": -1})
        at = s + len(pt)
    return {"text": text, "pieces": list(pieces), "offsets": offsets, "phrases": phrases}


def vocab_prompt(names, labels, sep, term):
    text, phrases = "", []
    for i, (nm, lb) in enumerate(zip(names, labels)):
        if i:
            text += sep
        phrases.append({"text": nm, "start": len(text), "end": len(text) + len(nm), "label": lb})
        text += nm
    text += term
    pieces = ["[CLS]"]
    for w in text.replace(".", " . ").split():
        pieces.append(w)
    pieces.append("[SEP]")
    return {"text": text, "pieces": pieces, "offsets": offsets_of(text, pieces), "phrases": phrases}


def make_case(name, seed, P, geo, names, prompts_spec):
    rng = random.Random(seed)
    prompts = []
    for spec in prompts_spec:
        pr = dict(spec["prompt"])
        n = len(pr["offsets"])
        pr["output"] = random_output(rng, spec["Q"], spec["T"], n, spec["format"], geo["resized_w"], geo["resized_h"],
                                     spec.get("centerness", False), spec["hot"], spec.get("levels"))
        prompts.append(pr)
    cands = []
    for i, pr in enumerate(prompts):
        cands += score_prompt(i, pr, P, geo)
    expected = merge(cands, P, geo, names)
    if len(expected) < 3:
        raise Near("too few detections to be a useful case")
    if P["LegacyPixels"] and P["NMSIoU"] > 0:
        try:
            other = merge(cands, P, geo, names, plus_one=False)
        except Near:
            other = None
        if other == expected:
            raise Near("the case does not tell maskrcnn-benchmark's +1 IoU from the continuous one")
    return {"name": name, "seed": seed, "params": json_params(P), "geometry": geo, "names": names,
            "prompts": prompts, "expected": expected}


def first_seed(name, P, geo, names, prompts_spec):
    for seed in range(1000):
        try:
            return make_case(name, seed, P, geo, names, prompts_spec)
        except Near:
            continue
    raise SystemExit("no usable seed for " + name)


def main():
    cap = caption_prompt(
        "Two dogs play with a red frisbee near a surfboard.",
        ["[CLS]", "two", "dogs", "play", "with", "a", "red", "fr", "##is", "##bee", "near", "a", "surf", "##board", ".", "[SEP]"],
        ["Two dogs", "a red frisbee", "a surfboard"])
    # 640x427 resized by get_size(800, 1333) is 1199x800.
    geo = {"orig_w": 640, "orig_h": 427, "resized_w": 1199, "resized_h": 800}
    cases = []
    cases.append(first_seed("glip caption, xyxy pixels, centerness, NMS and top-K", glip_params(TopK=6, PreTopN=40, ScoreThreshold=0.2), geo, 3,
                            [{"prompt": cap, "Q": 60, "T": 18, "format": "xyxy_pixels", "centerness": True, "hot": 0.25}]))
    cases.append(first_seed("glip caption, pre-top-N per level", glip_params(TopK=0, PreTopN=5, ScoreThreshold=0.1), geo, 3,
                            [{"prompt": cap, "Q": 48, "T": 16, "format": "xyxy_pixels", "centerness": True, "hot": 0.3,
                              "levels": [32, 12, 4]}]))
    geo2 = {"orig_w": 333, "orig_h": 500, "resized_w": 800, "resized_h": 1201}
    v1 = vocab_prompt(["person", "bicycle", "traffic light"], [0, 1, 2], ". ", "")
    v2 = vocab_prompt(["hot dog", "dog", "teddy bear"], [3, 4, 5], ". ", "")
    cases.append(first_seed("glip vocabulary of 1,203 names over two prompts, max, no centerness, cxcywh",
                            glip_params(Aggregate="max", TopK=4, TopKLargeVocab=7, LegacyPixels=False, ScoreThreshold=0.25), geo2, 1203,
                            [{"prompt": v1, "Q": 30, "T": 12, "format": "cxcywh_norm", "hot": 0.2},
                             {"prompt": v2, "Q": 30, "T": 12, "format": "cxcywh_norm", "hot": 0.2}]))
    dino = {"Scoring": "tokens", "Aggregate": "max", "PreThreshold": 0.0, "PreTopN": 0, "BoxThreshold": 0.35,
            "TextThreshold": 0.25, "NMSIoU": 0.0, "TopK": 0, "TopKLargeVocab": 0, "ScoreThreshold": 0.0,
            "LegacyPixels": False}
    dcap = caption_prompt("a cat and a hot dog on the sofa.",
                          ["[CLS]", "a", "cat", "and", "a", "hot", "dog", "on", "the", "sofa", ".", "[SEP]"], [])
    cases.append(first_seed("grounding dino caption, token phrases", dino, geo, 0,
                            [{"prompt": dcap, "Q": 40, "T": 12, "format": "cxcywh_norm", "hot": 0.12}]))
    v3 = vocab_prompt(["cat", "hot dog", "sofa"], [0, 1, 2], " . ", " .")
    cases.append(first_seed("grounding dino vocabulary", dino, geo, 3,
                            [{"prompt": v3, "Q": 40, "T": 12, "format": "cxcywh_norm", "hot": 0.12}]))
    with open("golden.json", "w") as f:  # one case per line
        f.write('{"generator": "make_golden.py", "cases": [\n')
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")


if __name__ == "__main__":
    main()
