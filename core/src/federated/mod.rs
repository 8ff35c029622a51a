//! Federated LoRA: LoRA layers, simulated clients, FedAvg / FFA-LoRA / FedSVD aggregation.
