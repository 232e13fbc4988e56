# An mmpretrain ImageClassifier with global average pooling and a linear head (100 classes,
# CE, top-1/5 accuracy, PyTorch's default initialisation of the head: init_cfg=None). A config
# adds the backbone and the head's in_channels (and num_classes, init_cfg where they differ).
model = dict(
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=None))
