package clip

// vildTemplates is ViLD's multiple_templates (tensorflow/tpu,
// models/official/detection/projects/vild, ViLD_demo.ipynb): 63 prompts,
// a subset of CLIP's ImageNet prompt ensemble plus scene prompts. Written
// down from memory and checked line by line against several public copies
// of ViLD's list.
var vildTemplates = []string{
	"There is {article} {} in the scene.",
	"There is the {} in the scene.",
	"a photo of {article} {} in the scene.",
	"a photo of the {} in the scene.",
	"a photo of one {} in the scene.",

	"itap of {article} {}.",
	"itap of my {}.", // itap: I took a picture of
	"itap of the {}.",
	"a photo of {article} {}.",
	"a photo of my {}.",
	"a photo of the {}.",
	"a photo of one {}.",
	"a photo of many {}.",

	"a good photo of {article} {}.",
	"a good photo of the {}.",
	"a bad photo of {article} {}.",
	"a bad photo of the {}.",
	"a photo of a nice {}.",
	"a photo of the nice {}.",
	"a photo of a cool {}.",
	"a photo of the cool {}.",
	"a photo of a weird {}.",
	"a photo of the weird {}.",

	"a photo of a small {}.",
	"a photo of the small {}.",
	"a photo of a large {}.",
	"a photo of the large {}.",

	"a photo of a clean {}.",
	"a photo of the clean {}.",
	"a photo of a dirty {}.",
	"a photo of the dirty {}.",

	"a bright photo of {article} {}.",
	"a bright photo of the {}.",
	"a dark photo of {article} {}.",
	"a dark photo of the {}.",

	"a photo of a hard to see {}.",
	"a photo of the hard to see {}.",
	"a low resolution photo of {article} {}.",
	"a low resolution photo of the {}.",
	"a cropped photo of {article} {}.",
	"a cropped photo of the {}.",
	"a close-up photo of {article} {}.",
	"a close-up photo of the {}.",
	"a jpeg corrupted photo of {article} {}.",
	"a jpeg corrupted photo of the {}.",
	"a blurry photo of {article} {}.",
	"a blurry photo of the {}.",
	"a pixelated photo of {article} {}.",
	"a pixelated photo of the {}.",

	"a black and white photo of the {}.",
	"a black and white photo of {article} {}.",

	"a plastic {}.",
	"the plastic {}.",

	"a toy {}.",
	"the toy {}.",
	"a plushie {}.",
	"the plushie {}.",
	"a cartoon {}.",
	"the cartoon {}.",

	"an embroidered {}.",
	"the embroidered {}.",

	"a painting of the {}.",
	"a painting of a {}.",
}

// ViLDTemplates returns a copy of ViLD's 63 prompt templates, in ViLD's
// order. "{}" stands for the class name and "{article}" for "a" or "an"
// (see Prompt).
func ViLDTemplates() []string { return append([]string(nil), vildTemplates...) }
