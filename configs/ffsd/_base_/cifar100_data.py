# FFSD's official CIFAR-100 data (SJLeo/FFSD data/cifar100.py; batch 128 as the
# --train_batch_size/--test_batch_size defaults of options/options.py): reflect-padded random
# crop 32 + flip, FFSD's normalisation. Shared by the FFSD configs and their fair baselines.
_base_ = ['../../_base_/datasets/cifar100_bs128.py']

# official Normalize((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)) x 255
data_preprocessor = dict(mean=[129.3105, 124.0575, 112.4295], std=[68.1615, 65.382, 70.431])
# official: Pad(4, reflect) -> HFlip -> RandomCrop(32); crop and flip commute in distribution
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
