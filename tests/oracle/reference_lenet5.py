"""The reference LeNet-5 in torch, shared by the oracle (tests/oracle/torch_oracle.py) and the training
throughput benchmark (benchmarks/train_throughput.py). A module of its own because importing the
oracle redirects stdout (its protocol stream), which a benchmark must not inherit.

conv1 1->6 5x5 pad 2, ReLU, maxpool 2; conv2 6->16 5x5, ReLU, maxpool 2; fc 400-120-84-10: the same
layers and parameter names as CnnNative.Models.LeNet5.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
