// Package clip computes ViLD-style CLIP distillation targets with a CLIP
// bundle: region embeddings of boxes and prompt-ensemble text embeddings
// of class names.
//
// # Regions
//
// Encoder.Embed embeds each Region (a kept teacher box or an extra
// proposal; the caller applies any per-image limit such as ViLD's 300) by
// cropping it at every scale of Options.Scales (ViLD: 1.0× and 1.5×,
// enlarged about the box centre and clipped to the image), embedding each
// crop, L2-normalising each embedding, summing them and normalising the
// sum. It goes one of two ways:
//
//   - Region graph (the default when the bundle has region_onnx): per
//     image, one run of the bundle's region graph with the full image
//     (CLIP-normalised, downscaled only if its longer side exceeds
//     Options.RegionMaxSide) and the boxes of all its regions at all
//     scales (CropBox, float pixel coordinates, [K,4]); the graph crops
//     with ONNX RoiAlign on the device and returns [K,D].
//   - CPU crops (Options.CPUCrops, or no region graph): each crop
//     (CropRect, whole pixels) resized to the tower's 224×224 input with a
//     bicubic (Catmull-Rom, antialiased) filter, CLIP-normalised, and run
//     through the image tower in batches.
//
// The two agree closely but not exactly (bicubic vs RoiAlign's bilinear
// sampling, whole vs fractional pixels); Encoder.RegionGraph says which is
// in use, for provenance.
//
// A bundle whose image.input is uint8_nhwc takes raw pixels and
// normalises them in its graphs: the region graph gets the same full
// image as [1,H,W,3] uint8, and the image tower the same crops as
// [N,224,224,3] uint8, each bicubic result rounded to whole levels as PIL
// gives it (the float path keeps the fractions), so CPU-crop embeddings
// differ slightly from a float bundle's. Either moves a quarter of the
// float tensor's bytes to the device.
//
// # Text
//
// TextEncoder.EmbedNames formats every class name into every template
// (ViLDTemplates: ViLD's 63; Prompt does ViLD's formatting), tokenizes
// each prompt with CLIP's BPE (77 tokens, longer prompts truncated and
// counted), runs the text tower in batches, L2-normalises each embedding,
// averages them per name and normalises the average.
//
// ToFloat16 and FromFloat16 convert embeddings to and from IEEE half
// precision for storage.
package clip
